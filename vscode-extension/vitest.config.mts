import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Call counts start from zero in every test; implementations are set up by each test.
    clearMocks: true,
  },
});
