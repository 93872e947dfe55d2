/**
 * The one way each language this program writes code in gets a value from settings: a literal that
 * stands for exactly that text, whatever it holds. Names are also refused at the settings level
 * (src/settings/fields.ts gitRefName), but the code writers never rely on that.
 */

/**
 * A POSIX shell word for `text`: single quotes, inside which nothing is special, and each `'`
 * closed, escaped and reopened. Valid in sh, dash and bash, in any position a word goes.
 */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * A Groovy single-quoted string literal for `text` (never a GString, so `$` is not interpolated):
 * `\` and `'` escaped, line ends and every other control character as escapes, so the literal
 * stays on one line. `$` is written as `\u0024` too: the Job DSL reaches Jenkins through JCasC,
 * which resolves `${...}` in its YAML before Groovy ever sees it.
 */
export function groovyString(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === "'") out += "\\'";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "$" || code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || code === 0x2028 || code === 0x2029) {
      out += unicodeEscape(code);
    } else out += ch;
  }
  return `'${out}'`;
}

function unicodeEscape(code: number): string {
  return `\\u${code.toString(16).padStart(4, "0")}`;
}
