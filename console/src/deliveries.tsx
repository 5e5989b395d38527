import { type Api, CROSSWALK } from './api.js';
import { DeliveryList, type DeliveryKind, outcome, ProfileCell, StatusMark } from './delivery-list.js';
import { time } from './ui.js';
import type { Delivery } from './wire.js';

export const DELIVERIES = `${CROSSWALK}/webhooks/deliveries/`;

const WEBHOOK_DELIVERIES: DeliveryKind = { path: DELIVERIES, one: 'delivery', many: 'deliveries', class: 'deliveries', idAttribute: 'data-delivery-id' };

export type DeliveryFilter = {
  status?: string;
  endpoint_id?: string;
  profile_id?: string;
};

/**
 * A page of deliveries, newest first, with "Show older" and, for admin keys, a Redeliver button
 * on each (a new pending delivery of the same event to the same endpoint).
 */
export function Deliveries({ admin, showProfile, ...list }: { api: Api; filter: DeliveryFilter; admin: boolean; showProfile: boolean; caption: string }) {
  return (
    <DeliveryList<Delivery>
      kind={WEBHOOK_DELIVERIES}
      {...list}
      head={['Status', 'Event', ...(showProfile ? ['Profile'] : []), 'Attempts', 'Outcome', 'Created', ...(admin ? [''] : [])]}
      cells={(delivery, redeliver) => (
        <>
          <td>
            <StatusMark status={delivery.status} />
          </td>
          <td>{delivery.event_type}</td>
          {showProfile && <ProfileCell profileId={delivery.profile_id} />}
          <td>{delivery.attempts}</td>
          <td class="outcome">{outcome(delivery, delivery.last_error)}</td>
          <td>{time(delivery.created_at)}</td>
          {admin && redeliver}
        </>
      )}
    />
  );
}
