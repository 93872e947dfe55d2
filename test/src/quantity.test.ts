import { expect } from "chai";
import fc from "fast-check";
import { parseQuantity, sumQuantities, tryParseQuantity } from "../../src/quantity";

describe("quantity", () => {
  it("reads cpu, binary and decimal forms", () => {
    expect(parseQuantity("500m")).to.equal(0.5);
    expect(parseQuantity("2")).to.equal(2);
    expect(parseQuantity("1.5")).to.equal(1.5);
    expect(parseQuantity("512Mi")).to.equal(512 * 2 ** 20);
    expect(parseQuantity("40Gi")).to.equal(40 * 2 ** 30);
    expect(parseQuantity("1Ti")).to.equal(2 ** 40);
    expect(parseQuantity("10G")).to.equal(1e10);
    expect(parseQuantity("2e3")).to.equal(2000);
  });

  it("rejects what Kubernetes rejects, naming the allowed forms", () => {
    for (const bad of ["", "Gi", "1x", "1 Gi", " 1Gi", "1GiB", "one", "1..2", "--1"]) {
      expect(tryParseQuantity(bad), bad).to.equal(undefined);
    }
    expect(() => parseQuantity("4GB")).to.throw(/"4GB" is not a Kubernetes quantity.*Ki Mi Gi/);
  });

  it("orders binary suffixes consistently with their byte values", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1023 }), (n) => parseQuantity(`${n}Mi`) < parseQuantity(`${n}Gi`)),
    );
  });

  it("sums quantities of mixed suffixes", () => {
    expect(sumQuantities(["500m", "1.5", "250m"])).to.equal(2.25);
    expect(sumQuantities(["1Gi", "512Mi"])).to.equal(1.5 * 2 ** 30);
  });
});
