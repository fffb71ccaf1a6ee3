// Owns the one error type failed calls reject with, recognised across copies of this module.

/** What every failed call rejects with: `{name, code, message, data}` on an `Error`. */
export interface InvokeErrorShape<N extends string = string, C extends string = string, D = unknown> {
  name: N;
  code: C;
  message: string;
  data: D;
}

/** A declared error type (generated bindings build their `DeclaredError` union from it). */
export type InvokeErrorOf<N extends string, C extends string, D> = Error & InvokeErrorShape<N, C, D>;

// The injected bridge and the page's own bundle each carry a copy of this class, so the
// errors a window rejects with come from the bridge's copy. A registry symbol is the same in
// every copy (and every realm), so branding with it lets any copy recognise the others.
const BRAND = Symbol.for("auroraview.InvokeError");

function isBranded(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** An error with the host's `{name, code, message, data}`. */
export class InvokeError<N extends string = string, C extends string = string, D = unknown>
  extends Error
  implements InvokeErrorShape<N, C, D>
{
  override readonly name: N;
  readonly code: C;
  readonly data: D;
  constructor(shape: InvokeErrorShape<N, C, D>) {
    super(shape.message);
    this.name = shape.name;
    this.code = shape.code;
    this.data = shape.data;
    Object.defineProperty(this, BRAND, { value: true }); // non-enumerable: invisible to JSON and spreads
  }

  /** `e instanceof InvokeError` holds for an error made by any copy of this class. A subclass
   * (`class NameTaken extends InvokeError`) keeps the ordinary prototype-chain check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== InvokeError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return isBranded(value);
  }
}

/** True for any error a call rejected with (from the bridge, the SDK or a mock). */
export function isInvokeError(value: unknown): value is InvokeErrorOf<string, string, unknown> {
  return (
    isBranded(value) ||
    (value instanceof Error && typeof (value as Partial<InvokeErrorShape>).code === "string" && "data" in value)
  );
}
