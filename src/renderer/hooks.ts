/** Small hooks shared by views. */
import { useEffect, useState } from 'react';

/** A clock; ticks each `everyMs` while `ticking` (running durations), else stays at mount time. */
export function useNow(ticking: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [ticking, everyMs]);
  return now;
}
