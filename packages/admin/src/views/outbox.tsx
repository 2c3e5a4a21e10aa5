import { ApiError, get, type Mail, type MailSummary } from '../api.js';
import { EmailFrame, Empty, ErrorNote, Show, TableScroll, useLoad } from '../components.js';
import { formatDateTime } from '../format.js';

export function Outbox() {
  const [loaded, reload] = useLoad(() => get<{ mails: MailSummary[] }>('/admin/api/outbox'), []);
  return (
    <>
      <div class="row">
        <h1 tabIndex={-1}>Outbox</h1>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {loaded.state === 'error' &&
      loaded.error instanceof ApiError &&
      loaded.error.status === 404 ? (
        <Empty>
          The outbox shows the mails of the demo's SMTP capture; this server sends real mail, so
          there is none.
        </Empty>
      ) : (
        <Show loaded={loaded} what="captured mail" retry={reload}>
          {({ mails }) =>
            mails.length === 0 ? (
              <Empty>
                No mail captured yet. Abandon a cart in the demo shop and wait a minute.
              </Empty>
            ) : (
              <TableScroll label="Captured mails">
                <table class="outbox">
                  <thead>
                    <tr>
                      <th scope="col">Received</th>
                      <th scope="col">To</th>
                      <th scope="col">Subject</th>
                    </tr>
                  </thead>
                  <tbody>
                    {mails.map((mail) => (
                      <tr key={mail.id} data-mail={mail.id}>
                        <td>{formatDateTime(mail.receivedAt)}</td>
                        <td>{mail.to ?? '—'}</td>
                        <td>
                          <a href={`#/outbox/${mail.id}`}>{mail.subject ?? '(no subject)'}</a>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableScroll>
            )
          }
        </Show>
      )}
    </>
  );
}

export function MailView({ id }: { id: string }) {
  const [loaded, reload] = useLoad(() => get<Mail>(`/admin/api/outbox/${id}`), [id]);
  return (
    <>
      <p>
        <a href="#/outbox">← Outbox</a>
      </p>
      {loaded.state === 'error' ? (
        <>
          <h1 tabIndex={-1}>Mail</h1>
          <ErrorNote error={loaded.error} retry={reload} />
        </>
      ) : (
        <Show loaded={loaded} what="the mail" retry={reload}>
          {(mail) => (
            <>
              <h1 tabIndex={-1}>{mail.subject ?? '(no subject)'}</h1>
              <dl class="facts">
                <div>
                  <dt>From</dt>
                  <dd>{mail.from ?? '—'}</dd>
                </div>
                <div>
                  <dt>To</dt>
                  <dd>{mail.to ?? '—'}</dd>
                </div>
                <div>
                  <dt>Received</dt>
                  <dd>{formatDateTime(mail.receivedAt)}</dd>
                </div>
              </dl>
              {mail.html ? (
                <EmailFrame html={mail.html} title={`Mail: ${mail.subject ?? ''}`} />
              ) : (
                <Empty>This mail has no HTML part.</Empty>
              )}
              <details>
                <summary>Text part</summary>
                <pre class="mail-text">{mail.text ?? '(none)'}</pre>
              </details>
            </>
          )}
        </Show>
      )}
    </>
  );
}
