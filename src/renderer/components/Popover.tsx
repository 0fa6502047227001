import { useEffect, useRef, useState, type ReactNode } from 'react';

/**
 * A button that opens a panel below it; the panel closes on Esc, on a click
 * outside, or when an item calls close(). Used for the recent workspaces and
 * the column chooser.
 */
export function Popover(props: {
  label: ReactNode;
  title?: string;
  className?: string;
  testId?: string;
  align?: 'left' | 'right';
  children: (close: () => void) => ReactNode;
}): React.JSX.Element {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent): void => {
      if (ref.current && e.target instanceof Node && !ref.current.contains(e.target)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', onDown);
    window.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('mousedown', onDown);
      window.removeEventListener('keydown', onKey, true);
    };
  }, [open]);
  return (
    <div className={`popover ${props.className ?? ''}`} ref={ref}>
      <button
        type="button"
        className="btn"
        aria-expanded={open}
        title={props.title}
        data-testid={props.testId}
        onClick={() => setOpen(!open)}
      >
        {props.label}
      </button>
      {open && (
        <div className={`popover-panel ${props.align === 'right' ? 'right' : ''}`} role="menu">
          {props.children(() => setOpen(false))}
        </div>
      )}
    </div>
  );
}

/** A chooser lists config keys: read the configs when its panel first opens. */
export function LoadOnMount({ load }: { load: () => Promise<void> }): null {
  useEffect(() => {
    void load();
  }, [load]);
  return null;
}
