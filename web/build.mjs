// `npm run build` (after `buf generate` and `tsc --noEmit`): bundles the page into dist/
// with esbuild: index.html, map.js, map.css and THIRD_PARTY_LICENSES.txt, the licence of
// every package whose code is in the bundle. The output depends only on the sources and
// the locked packages, so CI can rebuild it and compare with the committed copy.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { map: "src/map.ts" },
  outdir: "dist",
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  charset: "utf8",
  // Licence texts go to THIRD_PARTY_LICENSES.txt instead of comments in the bundle.
  legalComments: "none",
  // Leaflet's stylesheet names a few images; they are inlined so the stylesheet is whole.
  loader: { ".png": "dataurl", ".svg": "dataurl" },
  metafile: true,
  logLevel: "warning",
});
copyFileSync(join(here, "src", "index.html"), join(dist, "index.html"));

/** Returns the package directory (under node_modules) of a bundled input path, if any. */
function packageDir(input) {
  const parts = input.split("/");
  const at = parts.lastIndexOf("node_modules");
  if (at < 0) return undefined;
  const length = parts[at + 1].startsWith("@") ? 3 : 2;
  return parts.slice(0, at + length).join("/");
}

/** Returns the comment block a source file opens with, if it names a copyright. */
function copyrightHeader(path) {
  const lines = [];
  for (const line of readFileSync(join(here, path), "utf8").split("\n")) {
    if (!line.startsWith("//")) break;
    lines.push(line.replace(/^\/\/ ?/, ""));
  }
  const text = lines.join("\n").trim();
  return /copyright/i.test(text) ? text : undefined;
}

// Each bundled package's licence file, or, for packages that ship none (protobuf-es and
// connect-es), the distinct copyright headers of their bundled files plus the licence
// text those headers point to.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs).sort()) {
  const dir = packageDir(input);
  if (dir === undefined) continue;
  const headers = packages.get(dir) ?? new Set();
  const header = copyrightHeader(input);
  if (header !== undefined) headers.add(header);
  packages.set(dir, headers);
}
let needsApache = false;
const sections = [...packages]
  .map(([dir, headers]) => {
    const manifest = JSON.parse(readFileSync(join(here, dir, "package.json"), "utf8"));
    const licenceFile = readdirSync(join(here, dir))
      .filter((name) => /^(licen[cs]e|copying)/i.test(name))
      .sort()[0];
    let text;
    if (licenceFile !== undefined) {
      text = readFileSync(join(here, dir, licenceFile), "utf8").trim();
    } else if (headers.size > 0 && /Apache-2\.0/.test(manifest.license)) {
      needsApache = true;
      text = [...headers, "The Apache License 2.0 is at the end of this file."].join("\n\n");
    } else {
      throw new Error(`${manifest.name} ships no licence file and no licence header`);
    }
    return { name: manifest.name, version: manifest.version, licence: manifest.license, text };
  })
  .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
const rule = "=".repeat(78);
const parts = [
  [
    "Third-party software in the routeguide map page (map.js and map.css), with the licence",
    "of each package. The land outline is Natural Earth data (public domain) as packaged by",
    "world-atlas.",
  ].join("\n"),
  ...sections.map((s) => [rule, `${s.name} ${s.version}, licence: ${s.licence}`, rule, "", s.text].join("\n")),
];
if (needsApache) {
  const apache = readFileSync(join(here, "licenses", "Apache-2.0.txt"), "utf8").trimEnd();
  parts.push([rule, "Apache License 2.0", rule, "", apache].join("\n"));
}
writeFileSync(join(dist, "THIRD_PARTY_LICENSES.txt"), parts.join("\n\n") + "\n");

for (const name of ["index.html", "map.js", "map.css", "THIRD_PARTY_LICENSES.txt"]) {
  if (!existsSync(join(dist, name))) throw new Error(`dist/${name} was not written`);
}
console.log(`dist/: ${sections.map((s) => s.name).join(", ")}`);
