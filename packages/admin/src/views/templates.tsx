import { useEffect, useState } from 'preact/hooks';
import {
  ApiError,
  describeError,
  get,
  patch,
  post,
  type RenderedEmail,
  type Template,
  type Templates as TemplateList,
  type TestSent,
} from '../api.js';
import { EmailFrame, Empty, Show, useLoad } from '../components.js';

interface Draft {
  id: string | null;
  name: string;
  subject: string;
  html: string;
  text: string;
}

/** How long typing pauses before the preview is rendered again. */
const PREVIEW_PAUSE_MS = 400;

function Editor({ start, onSaved }: { start: Draft; onSaved: (template: Template) => void }) {
  const [draft, setDraft] = useState(start);
  const [preview, setPreview] = useState<
    { state: 'loading' } | { state: 'error'; error: unknown } | RenderedEmail
  >({ state: 'loading' });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [testSend, setTestSend] = useState<
    | { state: 'idle' }
    | { state: 'sending' }
    | { state: 'sent'; to: string }
    | { state: 'error'; error: unknown }
  >({ state: 'idle' });

  // Live preview: rendered by the server for the store's most recent cart, after a pause in typing.
  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      post<RenderedEmail>('/admin/api/templates/preview', {
        subject: draft.subject,
        html: draft.html,
        text: draft.text,
      }).then(
        (rendered) => current && setPreview(rendered),
        (error: unknown) => current && setPreview({ state: 'error', error }),
      );
    }, PREVIEW_PAUSE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [draft.subject, draft.html, draft.text]);

  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setMessage(null);
    const body = { name: draft.name, subject: draft.subject, html: draft.html, text: draft.text };
    try {
      const saved = draft.id
        ? await patch<Template>(`/admin/api/templates/${draft.id}`, body)
        : await post<Template>('/admin/api/templates', body);
      setDraft({ ...draft, id: saved.id });
      setMessage({ ok: true, text: `Saved “${saved.name}”.` });
      onSaved(saved);
    } catch (error) {
      setMessage({ ok: false, text: describeError(error) });
    } finally {
      setBusy(false);
    }
  };

  // What the preview shows goes to the merchant's own address (set in Settings), saved or not.
  const sendTest = async () => {
    setTestSend({ state: 'sending' });
    try {
      const sent = await post<TestSent>('/admin/api/templates/test-send', {
        subject: draft.subject,
        html: draft.html,
        text: draft.text,
      });
      setTestSend({ state: 'sent', to: sent.sentTo });
    } catch (error) {
      setTestSend({ state: 'error', error });
    }
  };

  return (
    <div class="editor">
      <form onSubmit={save} aria-label="Template">
        <label>
          Name
          <input
            name="name"
            required
            value={draft.name}
            onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })}
          />
        </label>
        <label>
          Subject
          <input
            name="subject"
            required
            value={draft.subject}
            onInput={(e) => setDraft({ ...draft, subject: e.currentTarget.value })}
          />
        </label>
        <label>
          HTML (Liquid)
          <textarea
            name="html"
            rows={16}
            spellcheck={false}
            value={draft.html}
            onInput={(e) => setDraft({ ...draft, html: e.currentTarget.value })}
          />
        </label>
        <label>
          Text part (Liquid)
          <textarea
            name="text"
            rows={8}
            spellcheck={false}
            value={draft.text}
            onInput={(e) => setDraft({ ...draft, text: e.currentTarget.value })}
          />
        </label>
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Saving…' : draft.id ? 'Save template' : 'Save as new template'}
          </button>
          <button
            type="button"
            class="send-test"
            disabled={testSend.state === 'sending'}
            onClick={sendTest}
          >
            {testSend.state === 'sending' ? 'Sending…' : 'Send test'}
          </button>
        </div>
        {testSend.state === 'sent' && (
          <p class="state ok test-send" role="status">
            Test mail sent to {testSend.to}.
          </p>
        )}
        {testSend.state === 'error' && (
          <p class="state error test-send" role="alert">
            {describeError(testSend.error)}
            {testSend.error instanceof ApiError && testSend.error.code === 'WB_ERR_CONFLICT' && (
              <>
                {' '}
                <a href="#/settings">Open the settings</a>
              </>
            )}
          </p>
        )}
        {message && (
          <p class={`state ${message.ok ? 'ok' : 'error'}`} role={message.ok ? 'status' : 'alert'}>
            {message.text}
          </p>
        )}
      </form>
      <section class="preview" aria-labelledby="template-preview-heading" aria-live="polite">
        <h2 id="template-preview-heading">Preview</h2>
        {'subject' in preview ? (
          <>
            <p>
              <strong>Subject:</strong> <span class="subject">{preview.subject}</span>{' '}
              <span class="muted">
                {preview.cart.externalId
                  ? `for cart ${preview.cart.externalId}`
                  : 'for a sample cart'}
              </span>
            </p>
            <EmailFrame html={preview.html} title="Template preview" />
          </>
        ) : preview.state === 'loading' ? (
          <p class="state loading">Rendering…</p>
        ) : (
          <p class="state error" role="alert">
            {describeError(preview.error)}
          </p>
        )}
      </section>
    </div>
  );
}

export function Templates() {
  const [loaded, reload, set] = useLoad(() => get<TemplateList>('/admin/api/templates'), []);
  // After a save the list is refreshed in place, so the editor (and its message) stays.
  const refresh = () => get<TemplateList>('/admin/api/templates').then(set, () => {});
  const [editing, setEditing] = useState<Draft | null>(null);
  const [version, setVersion] = useState(0);
  return (
    <>
      <h1 tabIndex={-1}>Templates</h1>
      <Show loaded={loaded} what="templates" retry={reload}>
        {(list) => (
          <>
            <div class="template-list">
              <section aria-labelledby="own-heading">
                <h2 id="own-heading">This store's</h2>
                {list.templates.length === 0 ? (
                  <Empty>None yet: start from a built-in one.</Empty>
                ) : (
                  <ul>
                    {list.templates.map((template) => (
                      <li key={template.id}>
                        <button
                          type="button"
                          onClick={() => {
                            setEditing({ ...template });
                            setVersion(version + 1);
                          }}
                        >
                          Edit {template.name}
                        </button>
                      </li>
                    ))}
                  </ul>
                )}
              </section>
              <section aria-labelledby="builtin-heading">
                <h2 id="builtin-heading">Built in</h2>
                <ul>
                  {list.builtIn.map((template) => (
                    <li key={template.key}>
                      <button
                        type="button"
                        onClick={() => {
                          setEditing({
                            id: null,
                            name: `${template.key} (copy)`,
                            subject: template.subject,
                            html: template.html,
                            text: template.text,
                          });
                          setVersion(version + 1);
                        }}
                      >
                        Copy {template.key}
                      </button>
                    </li>
                  ))}
                </ul>
              </section>
            </div>
            {editing ? (
              <Editor key={version} start={editing} onSaved={refresh} />
            ) : (
              <Empty>Pick a template to edit, or copy a built-in one.</Empty>
            )}
          </>
        )}
      </Show>
    </>
  );
}
