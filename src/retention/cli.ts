/** What the bundle runs: `node retention.js <job> [args]` (see main.ts). */
import { main } from "./main";

main(process.argv.slice(2)).then((code) => process.exit(code));
