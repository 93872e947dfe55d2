/**
 * Schedules for Kubernetes CronJobs: five fields (minute hour day-of-month month day-of-week) or
 * one of the macros the CronJob controller understands. Checked here so that a typo fails
 * `pulumi preview` instead of a CronJob that never fires.
 */
import { CronExpressionParser } from "cron-parser";

const MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

export const CRON_HELP = `five cron fields "minute hour day-of-month month day-of-week" (e.g. "0 2 * * *") or one of ${MACROS.join(", ")}`;

/** Why `schedule` is not a valid CronJob schedule, or undefined when it is. */
export function cronProblem(schedule: string): string | undefined {
  const text = schedule.trim();
  if (MACROS.includes(text)) return undefined;
  if (text.startsWith("CRON_TZ=") || text.startsWith("TZ=")) {
    return `"${schedule}" sets a time zone inside the schedule; Kubernetes wants ${CRON_HELP} and the zone in timeZone`;
  }
  const fields = text.split(/\s+/).filter((f) => f.length > 0);
  if (fields.length !== 5) return `"${schedule}" has ${fields.length} fields; expected ${CRON_HELP}`;
  try {
    CronExpressionParser.parse(text);
    return undefined;
  } catch (error) {
    return `"${schedule}" is not a valid schedule (${(error as Error).message}); expected ${CRON_HELP}`;
  }
}
