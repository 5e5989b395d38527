import { useState } from 'preact/hooks';
import { type Api, CROSSWALK, type Scope } from './api.js';
import { DeliveriesSection, DeliveryList, type DeliveryKind, outcome, ProfileCell, StatusMark } from './delivery-list.js';
import { Attribute, canAdmin, Empty, Failure, Loading, RowAction, time, useLoad, useRemoval, ViewHeading } from './ui.js';
import { type Destination, DESTINATION_DELIVERY_STATUSES, type DestinationDelivery, type DestinationTest } from './wire.js';

export const DESTINATIONS = `${CROSSWALK}/destinations/`;
const DESTINATION_DELIVERIES: DeliveryKind = {
  path: `${DESTINATIONS}deliveries/`,
  one: 'destination delivery',
  many: 'destination deliveries',
  class: 'deliveries destination-deliveries',
  idAttribute: 'data-destination-delivery-id',
};

/**
 * Destinations hold the tools' credentials: the server answers every operation on them, listing
 * included, to admin keys only. Other keys are told so in a line rather than with a refusal.
 */
export function AdminOnly({ children }: { children: string }) {
  return (
    <p class="notice info" data-admin-only>
      {children}
    </p>
  );
}

/** The destinations, or the failure to list them; listed once per view and shared by its parts. */
function useDestinations(api: Api) {
  return useLoad(() => api.get<{ data: Destination[] }>(DESTINATIONS), []);
}

/** The tool a delivery went to, by its destination id; a removed destination is no longer listed. */
function Tool({ id, destinations }: { id: string; destinations: Destination[] | undefined }) {
  const destination = destinations?.find((candidate) => candidate.id === id);
  if (destination) return <span title={destination.base_url}>{destination.type}</span>;
  if (destinations === undefined) return <code class="nowrap" title={id}>{id.slice(0, 8)}…</code>;
  return (
    <span class="unset" title={id}>
      removed destination <code class="nowrap">{id.slice(0, 8)}…</code>
    </span>
  );
}

/** Whether the destination is known to be removed (the server redelivers only to a listed one). */
const removed = (id: string, destinations: Destination[] | undefined) => destinations !== undefined && !destinations.some((destination) => destination.id === id);

export type DestinationDeliveryFilter = {
  status?: string;
  destination_id?: string;
  profile_id?: string;
};

/**
 * A page of deliveries to destinations, newest first, with the tool each went to, the reason of
 * each skip or failure, "Show older", and a Redeliver button on each failed one whose destination is
 * still there (a new pending delivery of the same event to the same destination). For admin keys
 * only (the server's rule).
 */
export function DestinationDeliveries({
  destinations,
  showProfile,
  ...list
}: {
  api: Api;
  filter: DestinationDeliveryFilter;
  destinations: Destination[] | undefined;
  showProfile: boolean;
  caption: string;
}) {
  return (
    <DeliveryList<DestinationDelivery>
      kind={DESTINATION_DELIVERIES}
      {...list}
      head={['Tool', 'Status', 'Event', ...(showProfile ? ['Profile'] : []), 'Outcome', 'Created, last attempt', '']}
      forbidden={<AdminOnly>Destination deliveries need an admin key: destinations hold the tools' credentials.</AdminOnly>}
      refreshable
      cells={(delivery, redeliver) => (
        <>
          <td>
            <Tool id={delivery.destination_id} destinations={destinations} />
          </td>
          <td>
            <StatusMark status={delivery.status} />
            <br />
            <small class="nowrap">
              {delivery.attempts} {delivery.attempts === 1 ? 'attempt' : 'attempts'}
            </small>
          </td>
          <td>{delivery.event_type}</td>
          {showProfile && <ProfileCell profileId={delivery.profile_id} />}
          <td class="outcome">{outcome(delivery, delivery.reason)}</td>
          <td class="times">
            <span class="nowrap">{time(delivery.created_at)}</span>
            {delivery.last_attempt_at !== null && (
              <>
                <br />
                <small class="nowrap">last attempt {time(delivery.last_attempt_at)}</small>
              </>
            )}
          </td>
          {delivery.status === 'failed' && !removed(delivery.destination_id, destinations) ? redeliver : <td />}
        </>
      )}
    />
  );
}

/** On a profile: the deliveries of its events to destinations, for admin keys; a line saying so for others. */
export function ProfileDestinationDeliveries({ api, scope, profileId }: { api: Api; scope: Scope; profileId: string }) {
  if (!canAdmin(scope)) {
    return <AdminOnly>Destination deliveries are shown to admin keys only: destinations hold the tools' credentials.</AdminOnly>;
  }
  return <AdminProfileDeliveries api={api} profileId={profileId} />;
}

function AdminProfileDeliveries({ api, profileId }: { api: Api; profileId: string }) {
  const destinations = useDestinations(api);
  return (
    <DestinationDeliveries
      api={api}
      filter={{ profile_id: profileId }}
      destinations={destinations.data?.data}
      showProfile={false}
      caption="Destination deliveries about this profile, newest first"
    />
  );
}

/** The destinations (the tools revenue is sent to), a test send to each, and their deliveries. Admin keys only. */
export function DestinationsView({ api, scope }: { api: Api; scope: Scope }) {
  return (
    <section aria-labelledby="destinations-heading">
      <ViewHeading id="destinations-heading">Destinations</ViewHeading>
      {canAdmin(scope) ? (
        <AdminDestinations api={api} />
      ) : (
        <AdminOnly>Destinations are shown to admin keys only: they hold the tools' credentials.</AdminOnly>
      )}
    </section>
  );
}

function AdminDestinations({ api }: { api: Api }) {
  const destinations = useDestinations(api);
  // Bumped when a destination is removed: its pending deliveries were cancelled.
  const [version, setVersion] = useState(0);
  const list = destinations.data?.data;

  return (
    <>
      <p>
        The tools the app's revenue events are sent to. Destinations are added with <code>POST /crosswalk/v1/destinations/</code> or{' '}
        <code>crosswalk destinations add</code>; their credentials are shown here only as hints.
      </p>
      <section aria-labelledby="destination-list-heading">
        <h3 id="destination-list-heading">Tools</h3>
        <Loading state={destinations} what="Destinations could not be listed">
          {({ data }) => (
            <DestinationList
              api={api}
              destinations={data}
              onRemoved={() => {
                destinations.reload();
                setVersion((n) => n + 1);
              }}
            />
          )}
        </Loading>
      </section>

      <DeliveriesSection
        headingId="destination-deliveries-heading"
        statusId="destination-delivery-status"
        statuses={DESTINATION_DELIVERY_STATUSES}
        target={{
          id: 'destination-delivery-destination',
          label: 'Destination',
          options: (list ?? []).map((destination) => ({ value: destination.id, label: `${destination.type} (${destination.base_url})` })),
        }}
      >
        {({ status, target }) => (
          <DestinationDeliveries
            key={version}
            api={api}
            filter={{ status, destination_id: target }}
            destinations={list}
            showProfile
            caption="Destination deliveries, newest first"
          />
        )}
      </DeliveriesSection>
    </>
  );
}

function DestinationList({ api, destinations, onRemoved }: { api: Api; destinations: Destination[]; onRemoved: () => void }) {
  const removal = useRemoval(api, onRemoved);
  if (destinations.length === 0) return <Empty>No destination: revenue events are not sent to any tool.</Empty>;
  const remove = (destination: Destination) =>
    removal.remove(`${DESTINATIONS}${destination.id}/`, `Remove the ${destination.type} destination (${destination.base_url})? Its pending deliveries are cancelled.`);
  return (
    <>
      <p>
        <strong>Send test event</strong> sends one sandbox purchase of 0.01 USD (product <code>crosswalk.test</code>, under made-up test ids) to the tool
        now, outside the queue, and shows how the tool answered. It is not a delivery and is not listed below; the tool may show it.
      </p>
      <Failure error={removal.error} what="Not removed" />
      {destinations.map((destination) => (
        <DestinationCard key={destination.id} api={api} destination={destination} onRemove={() => remove(destination)} />
      ))}
    </>
  );
}

/** The names of a map with their values, as a small definition list. */
function Pairs({ values, label }: { values: Record<string, string>; label: string }) {
  const entries = Object.entries(values);
  if (entries.length === 0) return <span class="unset">none</span>;
  return (
    <dl class="pairs" aria-label={label}>
      {entries.map(([name, value]) => (
        <Attribute key={name} name={name}>
          <code>{value}</code>
        </Attribute>
      ))}
    </dl>
  );
}

function DestinationCard({ api, destination, onRemove }: { api: Api; destination: Destination; onRemove: () => void }) {
  const [testing, setTesting] = useState(false);
  const [verdict, setVerdict] = useState<{ result: DestinationTest | null; error: unknown }>({ result: null, error: null });
  const titleId = `destination-${destination.id}`;
  const label = `${destination.type} (${destination.base_url})`;

  const test = async () => {
    if (testing) return;
    setTesting(true);
    setVerdict({ result: null, error: null });
    try {
      const answer = await api.call<{ data: DestinationTest }>(`${DESTINATIONS}${destination.id}/test/`, { method: 'POST' });
      setVerdict({ result: answer.body.data, error: null });
    } catch (error) {
      setVerdict({ result: null, error });
    } finally {
      setTesting(false);
    }
  };

  return (
    <article class="destination" aria-labelledby={titleId} data-destination-id={destination.id}>
      <h4 id={titleId}>
        {destination.type} <code>{destination.base_url}</code>
      </h4>
      <dl class="attributes">
        <Attribute name="Events">{destination.events.join(', ')}</Attribute>
        <Attribute name="Sandbox transactions">{destination.include_sandbox ? 'sent' : 'not sent'}</Attribute>
        <Attribute name="Created">{time(destination.created_at)}</Attribute>
        <Attribute name="Destination id">
          <code>{destination.id}</code>
        </Attribute>
        <Attribute name="Config (credentials as hints)">
          <Pairs values={destination.config} label={`Config of ${label}`} />
        </Attribute>
        <Attribute name={destination.type === 'adjust' ? 'Event tokens' : 'Event names'}>
          <Pairs values={destination.event_names} label={`Event names of ${label}`} />
        </Attribute>
      </dl>
      <div class="actions">
        <button type="button" class="small" onClick={test} aria-busy={testing ? 'true' : undefined} aria-label={`Send test event to ${label}`}>
          {testing ? 'Sending…' : 'Send test event'}
        </button>
        <RowAction label={`Remove destination ${label}`} onClick={onRemove}>
          Remove
        </RowAction>
      </div>
      <div role="status" class="test-verdict">
        {verdict.result && <Verdict type={destination.type} result={verdict.result} />}
      </div>
      <Failure error={verdict.error} what="The test event was not sent" />
    </article>
  );
}

function Verdict({ type, result }: { type: string; result: DestinationTest }) {
  const code = result.status_code === null ? '' : ` (HTTP ${result.status_code})`;
  const said =
    result.status === 'succeeded'
      ? `Test event succeeded: ${type} took it${code}.`
      : result.status === 'skipped'
        ? `Test event skipped, nothing was sent: ${result.error ?? 'no reason given'}.`
        : `Test event failed${code}: ${result.error ?? 'no message'}.`;
  return (
    <div data-verdict={result.status}>
      <p class={`notice ${result.status === 'succeeded' ? 'success' : result.status === 'failed' ? 'failure' : 'info'}`}>{said}</p>
      {result.answer !== null && (
        <>
          <p class="answer-label">The tool's answer:</p>
          <pre class="answer">
            <code>{result.answer === '' ? '(empty)' : result.answer}</code>
          </pre>
        </>
      )}
    </div>
  );
}
