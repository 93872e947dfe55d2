/**
 * Kubernetes resource quantities ("500m", "4Gi", "1.5", "2e3"), parsed to plain numbers so that
 * settings can be compared (a default request must not exceed its maximum) before anything is
 * sent to a cluster. The API server is the final judge; this only has to agree with it on the
 * forms people write.
 */

const BINARY_SUFFIXES: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|([a-zA-Z]*))$/;

export const QUANTITY_HELP =
  'a Kubernetes quantity such as "500m", "2", "512Mi" or "40Gi" (suffixes: n u m k M G T P E, Ki Mi Gi Ti Pi Ei)';

/** The value of a quantity, or undefined when the text is not a quantity Kubernetes accepts. */
export function tryParseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text.trim() === text ? text : "");
  if (!match) return undefined;
  const [, digits, exponent, suffix] = match;
  const base = Number(digits);
  if (exponent !== undefined) return base * 10 ** Number(exponent.slice(1));
  const multiplier = BINARY_SUFFIXES[suffix] ?? DECIMAL_SUFFIXES[suffix];
  return multiplier === undefined ? undefined : base * multiplier;
}

/** The value of a quantity; throws a message naming the allowed forms. */
export function parseQuantity(text: string): number {
  const value = tryParseQuantity(text);
  if (value === undefined) throw new Error(`"${text}" is not ${QUANTITY_HELP}`);
  return value;
}

/** Sum of quantities as a plain number (cores for cpu, bytes for memory and storage). */
export function sumQuantities(quantities: readonly string[]): number {
  return quantities.reduce((total, q) => total + parseQuantity(q), 0);
}
