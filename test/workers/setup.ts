// Runs in workerd before each test file: schema, plus the real test origin
// registered as a live origin box.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
