import { defineConfig } from "drizzle-kit";

// `npx drizzle-kit generate` writes SQL migrations for D1 into schema/migrations,
// which wrangler.toml's DB binding uses as its migrations_dir.
export default defineConfig({
  dialect: "sqlite",
  schema: "./schema/index.ts",
  out: "./schema/migrations",
});
