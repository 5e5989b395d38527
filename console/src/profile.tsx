import { useState } from 'preact/hooks';
import { ADAPTY, type Api, type Scope } from './api.js';
import { Deliveries } from './deliveries.js';
import { ProfileDestinationDeliveries } from './destinations.js';
import { HistoryTimeline, IdentifiersPanel } from './identifiers.js';
import { Attribute, canAdmin, canWrite, Empty, Pending, Table, time, useLoad, ViewHeading } from './ui.js';
import type { Profile } from './wire.js';

/**
 * Everything about one profile: its attributes, the 16 identifiers (editable with a write or admin
 * key), their history, its access levels and purchases, and the webhook and destination deliveries
 * about it.
 */
export function ProfileView({ api, scope, profileId }: { api: Api; scope: Scope; profileId: string }) {
  const profile = useLoad(() => api.get<{ data: Profile }>(`${ADAPTY}/profile/`, { address: { profileId } }), [profileId]);
  // Bumped after identifiers are saved: the history and the deliveries are read again.
  const [version, setVersion] = useState(0);

  if (profile.data === undefined) {
    return (
      <section aria-labelledby="profile-heading">
        <ViewHeading id="profile-heading">Profile</ViewHeading>
        <Pending state={profile} what="The profile could not be read" />
        <p>
          <a href="#/search">Back to search</a>
        </p>
      </section>
    );
  }
  const data = profile.data.data;
  return (
    <section aria-labelledby="profile-heading" class="profile">
      <ViewHeading id="profile-heading">
        Profile {data.customer_user_id === null ? <em>without customer user id</em> : <q>{data.customer_user_id}</q>}
      </ViewHeading>
      <Attributes profile={data} />

      <section aria-labelledby="identifiers-heading">
        <h3 id="identifiers-heading">Integration identifiers</h3>
        <IdentifiersPanel api={api} profileId={profileId} editable={canWrite(scope)} onSaved={() => setVersion((n) => n + 1)} />
      </section>

      <section aria-labelledby="history-heading">
        <h3 id="history-heading">Identifier history</h3>
        <HistoryTimeline api={api} profileId={profileId} version={version} />
      </section>

      <Purchases profile={data} />

      <section aria-labelledby="profile-deliveries-heading">
        <h3 id="profile-deliveries-heading">Webhook deliveries about this profile</h3>
        <Deliveries
          key={version}
          api={api}
          filter={{ profile_id: profileId }}
          admin={canAdmin(scope)}
          showProfile={false}
          caption="Webhook deliveries about this profile, newest first"
        />
      </section>

      <section aria-labelledby="profile-destination-deliveries-heading">
        <h3 id="profile-destination-deliveries-heading">Destination deliveries about this profile</h3>
        <ProfileDestinationDeliveries key={version} api={api} scope={scope} profileId={profileId} />
      </section>
    </section>
  );
}

function Attributes({ profile }: { profile: Profile }) {
  return (
    <section aria-labelledby="attributes-heading">
      <h3 id="attributes-heading">Attributes</h3>
      <dl class="attributes">
        <Attribute name="Profile id">
          <code>{profile.profile_id}</code>
        </Attribute>
        <Attribute name="Customer user id">
          {profile.customer_user_id === null ? <span class="unset">none</span> : <code>{profile.customer_user_id}</code>}
        </Attribute>
        <Attribute name="Total revenue">{profile.total_revenue_usd.toFixed(2)} USD</Attribute>
        <Attribute name="Segment hash">
          <code>{profile.segment_hash}</code>
        </Attribute>
      </dl>
      <h4>Custom attributes</h4>
      {profile.custom_attributes.length === 0 ? (
        <Empty>None.</Empty>
      ) : (
        <Table caption="Custom attributes" head={['Key', 'Value']}>
          {profile.custom_attributes.map((attribute) => (
            <tr key={attribute.key}>
              <td>
                <code>{attribute.key}</code>
              </td>
              <td>{typeof attribute.value === 'number' ? attribute.value : <code>{attribute.value}</code>}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

function Purchases({ profile }: { profile: Profile }) {
  return (
    <section aria-labelledby="purchases-heading">
      <h3 id="purchases-heading">Access levels and transactions</h3>
      <h4>Access levels</h4>
      {profile.access_levels.length === 0 ? (
        <Empty>None.</Empty>
      ) : (
        <Table caption="Access levels" head={['Access level', 'Active', 'Product', 'Store', 'Since', 'Expires']}>
          {profile.access_levels.map((level) => (
            <tr key={level.access_level_id}>
              <td>{level.access_level_id}</td>
              <td>{level.is_active ? 'active' : 'inactive'}</td>
              <td>{level.store_product_id}</td>
              <td>{level.store}</td>
              <td>{time(level.starts_at ?? level.purchased_at)}</td>
              <td>{level.is_lifetime ? 'never (lifetime)' : time(level.expires_at)}</td>
            </tr>
          ))}
        </Table>
      )}
      <h4>Subscriptions</h4>
      {profile.subscriptions.length === 0 ? (
        <Empty>None.</Empty>
      ) : (
        <Table caption="Subscriptions, the latest transaction of each" head={['Product', 'Store', 'Transaction', 'Environment', 'Purchased', 'Expires', 'Active']}>
          {profile.subscriptions.map((subscription) => (
            <tr key={`${subscription.store}/${subscription.store_transaction_id}`}>
              <td>{subscription.store_product_id}</td>
              <td>{subscription.store}</td>
              <td>
                <code>{subscription.store_transaction_id}</code>
              </td>
              <td>{subscription.environment}</td>
              <td>{time(subscription.purchased_at)}</td>
              <td>{time(subscription.expires_at)}</td>
              <td>{subscription.is_active ? 'active' : subscription.cancellation_reason ?? 'inactive'}</td>
            </tr>
          ))}
        </Table>
      )}
      <h4>One-time purchases</h4>
      {profile.non_subscriptions.length === 0 ? (
        <Empty>None.</Empty>
      ) : (
        <Table caption="One-time purchases, newest first" head={['Product', 'Store', 'Transaction', 'Environment', 'Purchased', 'Refunded']}>
          {profile.non_subscriptions.map((purchase) => (
            <tr key={purchase.purchase_id}>
              <td>{purchase.store_product_id}</td>
              <td>{purchase.store}</td>
              <td>
                <code>{purchase.store_transaction_id}</code>
              </td>
              <td>{purchase.environment}</td>
              <td>{time(purchase.purchased_at)}</td>
              <td>{purchase.is_refund ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
