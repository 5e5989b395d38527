/**
 * The lists of deliveries the webhooks view, the destinations view and a profile show: webhook
 * deliveries (deliveries.tsx) and deliveries to destinations (destinations.tsx) are filtered, paged,
 * refreshed and redelivered alike; only their columns differ.
 */
import type { ComponentChildren, VNode } from 'preact';
import { useState } from 'preact/hooks';
import { type Api, ApiFailure } from './api.js';
import { Busy, Empty, Failure, RowAction, Table, time, useLoad } from './ui.js';
import type { Page } from './wire.js';

/** What a webhook delivery and a delivery to a destination have in common. */
export interface AnyDelivery {
  id: number;
  event_type: string;
  profile_id: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  created_at: string;
}

const PAGE_SIZE = '25';

/**
 * How a delivery ended, or why it is still waiting, in a few words. `said` is what the receiver
 * or the tool said, or why it was skipped; without it, the HTTP status it answered, if any.
 */
export function outcome(delivery: AnyDelivery, said: string | null): string {
  const why = said ?? (delivery.last_status_code === null ? null : `HTTP ${delivery.last_status_code}`);
  switch (delivery.status) {
    case 'succeeded':
      return `answered HTTP ${delivery.last_status_code ?? ''}`.trim();
    case 'pending':
      if (delivery.attempts === 0) return `first attempt due ${time(delivery.next_attempt_at)}`;
      return why === null ? 'attempt in progress' : `${why}; next attempt ${time(delivery.next_attempt_at)}`;
    default:
      return why ?? '—';
  }
}

/** A delivery's status, marked with its colour. */
export function StatusMark({ status }: { status: string }) {
  return <mark class={`status status-${status}`}>{status}</mark>;
}

/** The cell linking to the profile a delivery is about, by the start of its id. */
export function ProfileCell({ profileId }: { profileId: string }) {
  return (
    <td>
      <a href={`#/profile/${profileId}`} title={profileId}>
        <code class="nowrap">{profileId.slice(0, 8)}…</code>
      </a>
    </td>
  );
}

/**
 * The deliveries at `path` that match `filter`, a page at a time, newest first: the first page read
 * when the filter changes, the older ones appended by "Show older", all read again by `refresh`.
 * `redeliver` queues a delivery again (`<path><id>/redeliver/`) and says so in `notice`.
 */
function usePagedDeliveries<T extends AnyDelivery>(api: Api, path: string, filter: Record<string, string | undefined>) {
  const key = JSON.stringify(filter);
  const first = useLoad(() => api.get<Page<T>>(path, { query: { ...filter, limit: PAGE_SIZE } }), [key]);
  const [older, setOlder] = useState<{ forKey: string; pages: T[]; cursor: string | null }>({ forKey: key, pages: [], cursor: null });
  const [moreError, setMoreError] = useState<unknown>(null);
  const [notice, setNotice] = useState<{ text: string; error: unknown }>({ text: '', error: null });

  const extra = older.forKey === key ? older : { forKey: key, pages: [], cursor: null };
  const rows = [...(first.data?.data ?? []), ...extra.pages];
  const cursor = extra.pages.length > 0 ? extra.cursor : (first.data?.next_cursor ?? null);

  const refresh = () => {
    setOlder({ forKey: key, pages: [], cursor: null });
    first.reload();
  };
  const more = async () => {
    setMoreError(null);
    try {
      const page = await api.get<Page<T>>(path, { query: { ...filter, limit: PAGE_SIZE, cursor: cursor ?? undefined } });
      setOlder({ forKey: key, pages: [...extra.pages, ...page.data], cursor: page.next_cursor });
    } catch (error) {
      setMoreError(error);
    }
  };
  const redeliver = async (delivery: T) => {
    setNotice({ text: '', error: null });
    try {
      const answer = await api.call<{ data: T }>(`${path}${delivery.id}/redeliver/`, { method: 'POST' });
      setNotice({ text: `Delivery ${delivery.id} queued again as delivery ${answer.body.data.id}.`, error: null });
      refresh();
    } catch (error) {
      setNotice({ text: '', error });
    }
  };
  return { first, rows, cursor, more, moreError, refresh, redeliver, notice };
}

/** A kind of delivery: where they are listed, and how their list names them. */
export interface DeliveryKind {
  /** The collection, ending in a slash: a delivery's redelivery is `<path><id>/redeliver/`. */
  path: string;
  /** What one is called ("delivery"), in the label of its Redeliver button, and several ("deliveries"). */
  one: string;
  many: string;
  /** The class of the list. */
  class: string;
  /** The attribute of each row that holds the delivery's id. */
  idAttribute: `data-${string}`;
}

/**
 * A page of deliveries of a kind, newest first, a row each (its id, then `cells`), with "Show
 * older deliveries", the notice or failure of a redelivery, and (with `refreshable`) a Refresh
 * button named after the caption.
 */
export function DeliveryList<T extends AnyDelivery>({
  kind,
  api,
  filter,
  caption,
  head,
  cells,
  forbidden,
  refreshable = false,
}: {
  kind: DeliveryKind;
  api: Api;
  filter: Record<string, string | undefined>;
  caption: string;
  /** The heads of the columns after Id. */
  head: string[];
  /** A delivery's cells after its id; `redeliver` is the cell of its Redeliver button, for the rows that have one. */
  cells: (delivery: T, redeliver: VNode) => ComponentChildren;
  /** Said instead of the failure when the server refuses to list them to the key. */
  forbidden?: ComponentChildren;
  refreshable?: boolean;
}) {
  const list = usePagedDeliveries<T>(api, kind.path, filter);
  const { first, rows, cursor, notice } = list;

  if (first.loading && first.data === undefined) return <Busy label={`Loading ${kind.many}…`} />;
  if (forbidden !== undefined && first.error instanceof ApiFailure && first.error.forbidden) return <>{forbidden}</>;
  if (first.error) return <Failure error={first.error} what={`${kind.many.charAt(0).toUpperCase()}${kind.many.slice(1)} could not be listed`} />;

  const older = cursor !== null && (
    <button type="button" class="secondary outline" onClick={list.more}>
      Show older deliveries
    </button>
  );
  return (
    <div class={kind.class}>
      <p role="status" class="notice success" hidden={notice.text === ''}>
        {notice.text}
      </p>
      <Failure error={notice.error} what="Redelivery failed" />
      {rows.length === 0 ? (
        <Empty>{`No ${kind.many}.`}</Empty>
      ) : (
        <Table caption={caption} head={['Id', ...head]}>
          {rows.map((delivery) => (
            <tr key={delivery.id} {...{ [kind.idAttribute]: delivery.id }} data-status={delivery.status}>
              <td>{delivery.id}</td>
              {cells(
                delivery,
                <td>
                  <RowAction label={`Redeliver ${kind.one} ${delivery.id}`} onClick={() => list.redeliver(delivery)}>
                    Redeliver
                  </RowAction>
                </td>,
              )}
            </tr>
          ))}
        </Table>
      )}
      <Failure error={list.moreError} what="Older deliveries could not be listed" />
      {refreshable ? (
        <div class="actions">
          {older}
          <button type="button" class="secondary outline" onClick={list.refresh} aria-label={`Refresh: ${caption}`}>
            Refresh
          </button>
        </div>
      ) : (
        older
      )}
    </div>
  );
}

export interface FilterOption {
  value: string;
  label: string;
}

/** One filter of a list: a labelled select whose first option, "any", filters nothing. */
function FilterSelect({
  id,
  label,
  value,
  options,
  onChange,
}: {
  id: string;
  label: string;
  value: string;
  /** A plain string is both the option's value and its label. */
  options: readonly (string | FilterOption)[];
  onChange: (value: string) => void;
}) {
  return (
    <div>
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange((event.target as HTMLSelectElement).value)}>
        <option value="">any</option>
        {options.map((option) =>
          typeof option === 'string' ? (
            <option value={option}>{option}</option>
          ) : (
            <option value={option.value}>{option.label}</option>
          ),
        )}
      </select>
    </div>
  );
}

/**
 * The Deliveries section of a view: filters by status (the failed ones at first) and by where they
 * went (`target`: an endpoint, a destination; any at first), and `children`, the list they select.
 */
export function DeliveriesSection({
  headingId,
  statusId,
  statuses,
  target,
  children,
}: {
  headingId: string;
  statusId: string;
  statuses: readonly string[];
  target: { id: string; label: string; options: readonly FilterOption[] };
  children: (filter: { status: string | undefined; target: string | undefined }) => ComponentChildren;
}) {
  const [status, setStatus] = useState('failed');
  const [targetId, setTargetId] = useState('');
  return (
    <section aria-labelledby={headingId}>
      <h3 id={headingId}>Deliveries</h3>
      <div class="grid filters">
        <FilterSelect id={statusId} label="Status" value={status} options={statuses} onChange={setStatus} />
        <FilterSelect id={target.id} label={target.label} value={targetId} options={target.options} onChange={setTargetId} />
      </div>
      {children({ status: status || undefined, target: targetId || undefined })}
    </section>
  );
}
