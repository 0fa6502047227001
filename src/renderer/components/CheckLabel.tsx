/** A checkbox with its label: how the forms show a yes/no option (launch, compare, export). */
export function CheckLabel(props: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  testId?: string;
  children: React.ReactNode;
}): React.JSX.Element {
  return (
    <label className="check-label">
      <input
        type="checkbox"
        checked={props.checked}
        onChange={(e) => props.onChange(e.target.checked)}
        data-testid={props.testId}
      />
      {props.children}
    </label>
  );
}
