/**
 * Policy violations of a preview. `pulumi preview --json` leaves policy events out of its document
 * (backend/display/json.go: "we don't handle policy events in JSON serialization"), so the review
 * also asks for the engine's event log (`--event-log FILE`, one JSON engine event per line) and
 * reads the `policyEvent`s from it.
 */

export interface PolicyViolation {
  readonly policy: string;
  readonly pack: string;
  /** "mandatory" fails the preview; "advisory" (the event log says "warning") only reports. */
  readonly level: "mandatory" | "advisory";
  readonly message: string;
  readonly urn?: string;
}

/** The engine's colour markup (`<{%reset%}>`) and ANSI escapes, which a report must not carry. */
export function plainText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/<\{%[^%]*%\}>/g, "").replace(/\u001b\[[0-9;]*m/g, "").trim();
}

/** The policy violations in an event log; lines that are not events are an error naming the line. */
export function policyViolations(eventLog: string): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  eventLog.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let event: { policyEvent?: Record<string, string> };
    try {
      event = JSON.parse(line);
    } catch {
      throw new Error(`event log line ${i + 1} is not JSON: ${line.slice(0, 80)}`);
    }
    const p = event.policyEvent;
    if (!p) return;
    violations.push({
      policy: p.policyName,
      pack: p.policyPackName,
      level: p.enforcementLevel === "mandatory" ? "mandatory" : "advisory",
      message: plainText(p.message ?? ""),
      urn: p.resourceUrn || undefined,
    });
  });
  return violations;
}
