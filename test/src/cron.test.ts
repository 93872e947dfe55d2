import { expect } from "chai";
import { cronProblem } from "../../src/cron";

describe("cron schedules", () => {
  it("accepts five-field schedules and the CronJob macros", () => {
    for (const ok of ["0 2 * * *", "*/15 * * * *", "0 3 * * MON-FRI", "30 4 1 * *", "@daily", "@weekly", "@hourly"]) {
      expect(cronProblem(ok), ok).to.equal(undefined);
    }
  });

  it("rejects wrong field counts, out-of-range values, seconds and inline time zones", () => {
    expect(cronProblem("* *")).to.match(/has 2 fields/);
    expect(cronProblem("0 0 2 * * *")).to.match(/has 6 fields/);
    expect(cronProblem("61 2 * * *")).to.match(/not a valid schedule/);
    expect(cronProblem("0 25 * * *")).to.match(/0-23/);
    expect(cronProblem("CRON_TZ=UTC 0 2 * * *")).to.match(/timeZone/);
    expect(cronProblem("@every 5m")).to.match(/fields/);
  });
});
