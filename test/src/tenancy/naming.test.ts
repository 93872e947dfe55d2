import { expect } from "chai";
import fc from "fast-check";
import { buildNamespace, dnsLabel, isDnsLabel, MAX_LABEL_LENGTH, slugify, userNamespace } from "../../../src/tenancy/naming";

const LOWER = "abcdefghijklmnopqrstuvwxyz".split("");
const DIGITS = "0123456789".split("");
/** Strings over a small alphabet (much faster to generate than fc.stringMatching). */
const over = (chars: string[], minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...chars), minLength, maxLength });

/** Branch-like strings: git refs with slashes and dots, upper case, unicode, very long. */
const branchName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 80 }),
  over([...LOWER, ...DIGITS, ..."ABCXYZ._/-".split("")], 1, 120),
  fc.constantFrom("master", "r/stx.9", "r-stx-9", "r/stx.9.0", "R/STX.9", "f/dépôt", "分支", "-", "..", "a".repeat(200)),
);
const projectName = fc.oneof(
  fc.tuple(fc.constantFrom(...LOWER), over([...LOWER, ...DIGITS, "-"], 0, 20)).map(([first, rest]) => first + rest.replace(/-+$/, "")),
  fc.constantFrom("starlingx", "stx-tools", "a", "a-b"),
);

describe("naming", () => {
  describe("examples", () => {
    it("keeps clean names readable", () => {
      expect(userNamespace("alice")).to.equal("user-alice");
      expect(buildNamespace("starlingx", "master")).to.equal("build-starlingx-master");
    });

    it("separates r/stx.9 from r-stx-9", () => {
      const slashed = buildNamespace("starlingx", "r/stx.9");
      const dashed = buildNamespace("starlingx", "r-stx-9");
      expect(slashed).to.not.equal(dashed);
      expect(slashed).to.match(/^build-starlingx-r-stx-9-[0-9a-f]{8}$/);
    });

    it("does not let a-b/c meet a/b-c", () => {
      expect(buildNamespace("a-b", "c")).to.not.equal(buildNamespace("a", "b-c"));
    });

    it("treats upper case as a different branch", () => {
      expect(buildNamespace("stx", "Master")).to.not.equal(buildNamespace("stx", "master"));
      expect(buildNamespace("stx", "Master")).to.match(/^build-stx-master-[0-9a-f]{8}$/);
    });

    it("shortens very long branch names to 63 characters", () => {
      const name = buildNamespace("starlingx", `feature/${"x".repeat(300)}`);
      expect(name.length).to.equal(MAX_LABEL_LENGTH);
      expect(isDnsLabel(name)).to.equal(true);
    });

    it("names unicode-only branches by their hash", () => {
      expect(buildNamespace("stx", "分支")).to.match(/^build-stx-[0-9a-f]{8}$/);
    });

    it("hashes a clean name that already ends like a hash, so it cannot meet a hashed one", () => {
      const lookalike = `r-stx-9-${buildNamespace("starlingx", "r/stx.9").slice(-8)}`;
      expect(buildNamespace("starlingx", lookalike)).to.not.equal(buildNamespace("starlingx", "r/stx.9"));
    });

    it("strips accents when slugging", () => {
      expect(slugify("Dépôt/Été.1")).to.equal("depot-ete-1");
    });

    it("rejects a prefix that is not a label and an empty name", () => {
      expect(() => dnsLabel("Bad_", ["x"])).to.throw(/prefix/);
      expect(() => dnsLabel("ok", [])).to.throw(/at least one part/);
    });
  });

  describe("properties", () => {
    it("every derived name is a DNS-1123 label of at most 63 characters", () => {
      fc.assert(
        fc.property(projectName, branchName, (project, branch) => {
          const name = buildNamespace(project, branch);
          return isDnsLabel(name) && name.length <= MAX_LABEL_LENGTH;
        }),
        { numRuns: 2000 },
      );
    });

    it("is stable: the same input always gives the same name", () => {
      fc.assert(
        fc.property(projectName, branchName, (project, branch) => buildNamespace(project, branch) === buildNamespace(project, branch)),
      );
    });

    it("never maps two different (project, branch) pairs to one name", () => {
      fc.assert(
        fc.property(fc.uniqueArray(fc.tuple(projectName, branchName), { minLength: 2, maxLength: 60, selector: (t) => JSON.stringify(t) }), (pairs) => {
          const names = pairs.map(([p, b]) => buildNamespace(p, b));
          return new Set(names).size === names.length;
        }),
        { numRuns: 300 },
      );
    });

    it("never lets a user namespace meet a build namespace", () => {
      fc.assert(
        fc.property(projectName, projectName, branchName, (user, project, branch) => {
          return userNamespace(user) !== buildNamespace(project, branch);
        }),
      );
    });

    it("keeps near-identical spellings apart (separators, case, dots)", () => {
      const variants = fc.tuple(
        over([..."abc012".split("")], 1, 4),
        fc.constantFrom("/", ".", "-", "_", "", "//", "-."),
        over([..."abcAB01".split("")], 1, 4),
      );
      fc.assert(
        fc.property(variants, variants, ([a1, s1, b1], [a2, s2, b2]) => {
          const left = `${a1}${s1}${b1}`;
          const right = `${a2}${s2}${b2}`;
          return left === right || buildNamespace("stx", left) !== buildNamespace("stx", right);
        }),
        { numRuns: 3000 },
      );
    });
  });
});
