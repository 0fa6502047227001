/**
 * A run's notes, tags, star and archive flag, editable in the detail view.
 * Every change is written at once into the run's expdesk_notes.json
 * (request experiments.annotate); the note only on Save. The parent keys it
 * by path and saved note, so a saved or outside change starts a fresh draft.
 */
import { useState } from 'react';
import { EMPTY_ANNOTATIONS, tagProblem } from '../../shared/annotations';
import type { ExperimentSummary } from '../../shared/model';
import { useExpdesk } from '../store-context';

export function NotesEditor({ summary }: { summary: ExperimentSummary }): React.JSX.Element {
  const annotate = useExpdesk((s) => s.annotate);
  const a = summary.annotations ?? EMPTY_ANNOTATIONS;
  const [tag, setTag] = useState('');
  const [note, setNote] = useState(a.note);
  const problem = tag === '' ? null : tagProblem(tag);
  const paths = [summary.path];
  return (
    <section className="card notes-editor" data-testid="notes-editor">
      <h3>Notes and tags</h3>
      <div className="notes-actions">
        <button
          type="button"
          aria-pressed={a.starred}
          data-testid="star-toggle"
          onClick={() => void annotate(paths, { starred: !a.starred })}
        >
          {a.starred ? '★ Starred' : '☆ Star'}
        </button>
        <button
          type="button"
          aria-pressed={a.archived}
          data-testid="archive-toggle"
          onClick={() => void annotate(paths, { archived: !a.archived })}
        >
          {a.archived ? 'Archived (restore)' : 'Archive'}
        </button>
      </div>
      <ul className="tag-list" data-testid="tag-list">
        {a.tags.map((t) => (
          <li key={t} className="tag-chip">
            #{t}{' '}
            <button
              type="button"
              aria-label={`remove tag ${t}`}
              onClick={() => void annotate(paths, { removeTags: [t] })}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          if (tag === '' || problem) return;
          void annotate(paths, { addTags: [tag] });
          setTag('');
        }}
      >
        <input
          aria-label="add a tag"
          data-testid="tag-input"
          placeholder="add a tag, Enter"
          value={tag}
          onChange={(ev) => setTag(ev.target.value.trim())}
        />
        {problem && <span className="field-error">{problem}</span>}
      </form>
      <textarea
        aria-label="note"
        data-testid="note-input"
        rows={3}
        value={note}
        onChange={(ev) => setNote(ev.target.value)}
      />
      <button
        type="button"
        data-testid="note-save"
        disabled={note === a.note}
        onClick={() => void annotate(paths, { note })}
      >
        Save note
      </button>
    </section>
  );
}
