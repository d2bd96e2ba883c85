"""CI/CD: the plan of an event (services.ci.plan), running it here (services.ci.run), and the steps
only CI has: the pull-request comment, the image test, promotion and the template update."""
