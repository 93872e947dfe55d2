/** The commands a Zuul playbook runs, for tests that run them against the loopback cluster. */
import * as fs from "fs";
import * as yaml from "js-yaml";

/** Zuul's encrypted secrets, as opaque values (the tests never decrypt them). */
export const ZUUL_SCHEMA = yaml.DEFAULT_SCHEMA.extend([
  new yaml.Type("!encrypted/pkcs1-oaep", { kind: "sequence", construct: (data: string[]) => ({ encrypted: data }) }),
]);

export interface PlaybookCommand {
  readonly cmd: string;
  readonly chdir: string;
  readonly environment: Record<string, string>;
}

/** The `ansible.builtin.command` tasks of a playbook with `tag`, Jinja variables substituted. */
export function playbookCommands(file: string, tag: string, vars: Record<string, string>): PlaybookCommand[] {
  const plays = yaml.load(fs.readFileSync(file, "utf8"), { schema: ZUUL_SCHEMA }) as { tasks: Record<string, any>[] }[];
  const substitute = (text: string) => text.replace(/\{\{\s*([\w.]+)(\s*\|\s*quote)?\s*\}\}/g, (_m, name: string, quote?: string) => {
    if (!(name in vars)) throw new Error(`${file}: no value for {{ ${name} }}`);
    return quote ? `'${vars[name].replace(/'/g, "'\\''")}'` : vars[name];
  });
  return plays.flatMap((play) => play.tasks)
    .filter((t) => (t.tags ?? []).includes(tag) && t["ansible.builtin.command"])
    .map((t) => ({
      cmd: substitute(t["ansible.builtin.command"].cmd),
      chdir: substitute(t["ansible.builtin.command"].chdir),
      environment: Object.fromEntries(Object.entries((t.environment ?? {}) as Record<string, string>).map(([k, v]) => [k, substitute(String(v))])),
    }));
}

