//! Which packets a logged-in client may send after its CONNECT, and what the door does with
//! each: a vehicle's rules are [`VehicleTree`]'s, a phone's [`PhoneTree`]'s, an alert
//! observer's [`ObserverTree`]'s. A refusal's
//! detail holds the topic or filter the client chose: `Door::count` escapes it.

use super::observer_acl::ObserverTree;
use super::packet::{ClientPacket, Frame};
use super::phone_acl::{self, PhonePublish, PhoneTree, MAX_PHONE_FILTERS};
use super::{refused, Ended, Refusal, VehicleTree};

/// The rules of one connection.
#[derive(Clone, Debug)]
pub(super) enum Rules {
    Vehicle(VehicleTree),
    Phone(PhoneTree),
    Observer(ObserverTree),
}

/// What the door does with a packet it allows.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Pass {
    /// Forwards it as it came.
    AsIs,
    /// Forwards it with the retain flag cleared (a phone's location: rumqttd would keep it).
    ClearRetain,
    /// Answers the client with `reply` and forwards `forward` instead, if any (a phone's
    /// SUBSCRIBE or UNSUBSCRIBE, of which only its command topic goes on; an observer's, of
    /// which only the alerts filter goes on); `refused` filters are counted.
    Replace { reply: Vec<u8>, forward: Option<Vec<u8>>, refused: usize },
    /// Forwards nothing and acknowledges a QoS 1 PUBLISH in its turn (a phone's publish on a
    /// sub-topic Convoy does not read).
    Answer,
}

impl Rules {
    /// The packet and what to do with it, if the client may send it.
    pub(super) fn check(&self, frame: &Frame) -> Result<(ClientPacket, Pass), Ended> {
        let packet = ClientPacket::parse(frame)?;
        let pass = match self {
            Rules::Vehicle(tree) => check_vehicle(&packet, tree)?,
            Rules::Phone(tree) => check_phone(&packet, tree)?,
            Rules::Observer(tree) => check_observer(&packet, tree)?,
        };
        Ok((packet, pass))
    }
}

/// [`VehicleTree`] has the rules: its own positions and status, its own windows to read.
fn check_vehicle(packet: &ClientPacket, tree: &VehicleTree) -> Result<Pass, Ended> {
    match packet {
        ClientPacket::Connect(_) => Err(refused(Refusal::MalformedPacket, "a second CONNECT")),
        ClientPacket::Publish { qos, retain, topic, payload, .. } => {
            if let Err(refusal) = tree.check_publish(topic, *retain, payload.len()) {
                let detail = format!("{topic}, {} bytes, retain {retain}", payload.len());
                return Err(refused(refusal, detail));
            }
            // QoS 2 would be acknowledged by rumqttd alone, before ingest stored anything.
            if *qos == 2 {
                return Err(refused(Refusal::UnsupportedQos, topic.clone()));
            }
            Ok(Pass::AsIs)
        }
        ClientPacket::Subscribe { filters, .. } => {
            // Its windows topic goes on to rumqttd (which answers); one filter it may not have
            // closes the connection, and one reaching beyond its tree names the whole packet.
            let refusals: Vec<Refusal> =
                filters.iter().filter_map(|(filter, qos)| tree.check_subscribe(filter, *qos).err()).collect();
            if refusals.is_empty() {
                return Ok(Pass::AsIs);
            }
            let refusal = refusals
                .into_iter()
                .find(|refusal| *refusal == Refusal::ForeignSubscription)
                .unwrap_or(Refusal::SubscriptionNotAllowed);
            let filters: Vec<&str> = filters.iter().map(|(filter, _)| filter.as_str()).collect();
            Err(refused(refusal, filters.join(" ")))
        }
        ClientPacket::Unsubscribe { filters, .. } => {
            if filters.iter().all(|filter| tree.check_unsubscribe(filter).is_ok()) {
                return Ok(Pass::AsIs);
            }
            Err(refused(Refusal::SubscriptionNotAllowed, format!("unsubscribe {}", filters.join(" "))))
        }
        _ => Ok(Pass::AsIs),
    }
}

/// [`PhoneTree`] has the rules: its own locations, its own command topic.
fn check_phone(packet: &ClientPacket, tree: &PhoneTree) -> Result<Pass, Ended> {
    match packet {
        ClientPacket::Connect(_) => Err(refused(Refusal::MalformedPacket, "a second CONNECT")),
        ClientPacket::Publish { qos, retain, topic, payload, .. } => {
            let kind = tree.check_publish(topic, payload.len()).map_err(|refusal| {
                refused(refusal, format!("{topic}, {} bytes, retain {retain}", payload.len()))
            })?;
            // QoS 2 would be acknowledged by rumqttd alone, before ingest stored anything (and
            // the door answers its sub-topics at QoS 0 and 1 only).
            if *qos == 2 {
                return Err(refused(Refusal::UnsupportedQos, topic.clone()));
            }
            Ok(match kind {
                PhonePublish::Location if *retain => Pass::ClearRetain,
                PhonePublish::Location => Pass::AsIs,
                PhonePublish::Answered => Pass::Answer,
            })
        }
        ClientPacket::Subscribe { packet_id, filters } => {
            if filters.len() > MAX_PHONE_FILTERS {
                return Err(refused(
                    Refusal::MalformedPacket,
                    format!("SUBSCRIBE of {} filters", filters.len()),
                ));
            }
            let (reply, forward, refused) = phone_acl::answer_subscribe(tree, *packet_id, filters);
            Ok(Pass::Replace { reply, forward, refused })
        }
        ClientPacket::Unsubscribe { packet_id, filters } => {
            if filters.len() > MAX_PHONE_FILTERS {
                return Err(refused(
                    Refusal::MalformedPacket,
                    format!("UNSUBSCRIBE of {} filters", filters.len()),
                ));
            }
            let (reply, forward) = phone_acl::answer_unsubscribe(tree, *packet_id, filters);
            Ok(Pass::Replace { reply, forward, refused: 0 })
        }
        _ => Ok(Pass::AsIs),
    }
}

/// [`ObserverTree`] has the rules: the alerts filter to read, nothing to publish.
fn check_observer(packet: &ClientPacket, tree: &ObserverTree) -> Result<Pass, Ended> {
    match packet {
        ClientPacket::Connect(_) => Err(refused(Refusal::MalformedPacket, "a second CONNECT")),
        ClientPacket::Publish { retain, topic, payload, .. } => Err(refused(
            Refusal::ObserverPublish,
            format!("{topic}, {} bytes, retain {retain}", payload.len()),
        )),
        ClientPacket::Subscribe { packet_id, filters } => {
            if filters.len() > MAX_PHONE_FILTERS {
                return Err(refused(
                    Refusal::MalformedPacket,
                    format!("SUBSCRIBE of {} filters", filters.len()),
                ));
            }
            let (reply, forward, refused) =
                phone_acl::answer_subscribe_by(|filter, qos| tree.grant(filter, qos), *packet_id, filters);
            Ok(Pass::Replace { reply, forward, refused })
        }
        ClientPacket::Unsubscribe { packet_id, filters } => {
            if filters.len() > MAX_PHONE_FILTERS {
                return Err(refused(
                    Refusal::MalformedPacket,
                    format!("UNSUBSCRIBE of {} filters", filters.len()),
                ));
            }
            let (reply, forward) = phone_acl::answer_unsubscribe_by(
                |filter| tree.grant(filter, 0).is_some(),
                *packet_id,
                filters,
            );
            Ok(Pass::Replace { reply, forward, refused: 0 })
        }
        // PUBACKs of the alerts it receives, pings, DISCONNECT.
        _ => Ok(Pass::AsIs),
    }
}
