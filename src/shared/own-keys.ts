/**
 * Plain objects keyed by names from files (metric names, config keys): read
 * only their own properties and define rather than assign, so a name such as
 * "__proto__", "constructor" or "toString" is a key like any other — never
 * Object.prototype or one of its methods, read and then changed for every
 * object in the process.
 */

/** obj[key] if obj has it as its own property, else undefined. */
export function getOwn<T>(obj: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** obj[key] = value, as a data property even for "__proto__" (an assignment would set the prototype). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  // Only "__proto__" is special to an assignment ("constructor" and the rest become own properties).
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}
