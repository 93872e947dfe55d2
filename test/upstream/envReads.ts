/**
 * The environment variables an upstream program reads, found in its source: Python's
 * os.environ.get / os.environ[...] / os.getenv / utils.get_env_variable, and in shell every
 * ${VAR} or $VAR that the script (or a helper it sources) never assigns itself.
 */
import * as fs from "fs";

const PY_READS = [
  /os\.environ\.get\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]/g,
  /os\.getenv\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]/g,
  /get_env_variable\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]/g,
  /os\.environ\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\](?!\s*=[^=])/g,
];

export function pythonReads(text: string): Set<string> {
  const found = new Set<string>();
  for (const re of PY_READS) for (const m of text.matchAll(re)) found.add(m[1]);
  return found;
}

/** Names a shell script gives a value to (so a read of them is not a read of the environment). */
function shellAssigned(text: string): Set<string> {
  const names = new Set<string>();
  const patterns = [
    /(?:^|[\s;&|(])(?:local\s+|declare\s+(?:-\w+\s+)*|export\s+|readonly\s+|typeset\s+)?([A-Za-z_][A-Za-z0-9_]*)(?:\[[^\]]*\])?\+?=/gm,
    /\bfor\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b/g,
    /\bread\s+(?:-\w+\s+)*((?:[A-Za-z_][A-Za-z0-9_]*\s*)+)/g,
    /\b(?:local|declare|unset)\s+(?:-\w+\s+)*((?:[A-Za-z_][A-Za-z0-9_]*\s*)+)/g,
    /declare\s+"([A-Za-z_][A-Za-z0-9_]*)=/g,
    /getopts\s+\S+\s+([A-Za-z_][A-Za-z0-9_]*)/g,
    /\$\{([A-Za-z_][A-Za-z0-9_]*):?=/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) for (const n of m[1].trim().split(/\s+/)) names.add(n);
  return names;
}

export function shellReads(texts: readonly string[]): Set<string> {
  const all = texts.join("\n");
  // Comments and single-quoted strings expand nothing (heredocs for other programs still count).
  const code = all.replace(/^\s*#.*$/gm, "").replace(/'[^'\n]*'/g, "''");
  const assigned = shellAssigned(code);
  const found = new Set<string>();
  for (const m of code.matchAll(/\$\{?!?#?([A-Za-z_][A-Za-z0-9_]*)/g)) {
    if (!assigned.has(m[1])) found.add(m[1]);
  }
  return found;
}

/** What one upstream file reads, by its kind. */
export function readsOf(file: string): Set<string> {
  const text = fs.readFileSync(file, "utf8");
  const python = file.endsWith(".py") || /^#!.*python/.test(text);
  return python ? pythonReads(text) : shellReads([text]);
}
