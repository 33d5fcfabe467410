// HashiCorp's HCL parser (hashicorp/hcl compiled to WASM, npm @cdktf/hcl2json) over a batch of
// files in one process: the oracle of tests/formats/test_hcl_differential.py.
//
// stdin: a JSON array of file texts. stdout: a JSON array, one result per text, in order:
//   {"ok": true, "value": <hcl2json's JSON for the file>}
//   {"ok": false, "error": "<HCL's diagnostics: grant.hcl:LINE,COL-COL: Summary; Detail. ...>"}
// hcl2json writes a literal "${" or "%{" in a string as "$${" / "%%{" (its JSON output is read
// as Terraform JSON syntax, where "${" would start a template).
"use strict";
const { parse } = require("@cdktf/hcl2json");

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const texts = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const out = [];
  for (const text of texts) {
    try {
      out.push({ ok: true, value: await parse("grant.hcl", text) });
    } catch (e) {
      out.push({ ok: false, error: String(e && e.message ? e.message : e) });
    }
  }
  // the Go runtime keeps node alive: exit once stdout is flushed (a pipe writes asynchronously)
  await new Promise((resolve) => process.stdout.write(JSON.stringify(out), resolve));
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
    process.exit(2);
  },
);
