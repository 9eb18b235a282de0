//! MQTT 3.1.1 packets as a client sends them: framing (fixed header and remaining length) and
//! the parts the front door must read (CONNECT in full; the topic of a PUBLISH; the filters of
//! a SUBSCRIBE). The bytes come from anyone who can reach the port, so nothing here panics on
//! any input, and a packet's size is bounded before its body is buffered.
//!
//! Only what MQTT 3.1.1 (OASIS, 2014) lets a client send is accepted: CONNECT, PUBLISH, the four
//! acknowledgements, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and DISCONNECT, each with the fixed-header
//! flags the standard requires. Everything a server sends, and the reserved types, is malformed.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Why bytes are not an MQTT 3.1.1 client packet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    #[error("packet of {0} bytes is larger than allowed")]
    TooLarge(usize),
    /// A CONNECT of another protocol version (MQTT 3.1 is level 3, MQTT 5 level 5).
    #[error("MQTT protocol {name:?} level {level} is not supported (only MQTT 3.1.1, level 4)")]
    ProtocolVersion { name: String, level: u8 },
}

/// One whole packet as it arrived: its bytes are forwarded unchanged once checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The fixed header, remaining length and body.
    pub bytes: Bytes,
    /// Where the body starts in `bytes`.
    body_start: usize,
}

impl Frame {
    /// The packet type (high nibble of the first byte).
    pub fn packet_type(&self) -> u8 {
        self.bytes[0] >> 4
    }

    /// The fixed header's flags (low nibble of the first byte).
    pub fn flags(&self) -> u8 {
        self.bytes[0] & 0x0f
    }

    pub fn body(&self) -> Bytes {
        self.bytes.slice(self.body_start..)
    }
}

/// Cuts a byte stream into packets. Bytes may arrive split anywhere; a packet is returned once
/// it is whole, and one that announces more than `max_remaining` bytes is refused from its
/// header alone, so the buffer never holds more than one packet plus one read.
#[derive(Debug)]
pub struct Framer {
    buffer: BytesMut,
    max_remaining: usize,
}

impl Framer {
    pub fn new(max_remaining: usize) -> Self {
        Self { buffer: BytesMut::with_capacity(8 * 1024), max_remaining }
    }

    /// Changes the largest packet accepted from now on (larger once the client has logged in).
    pub fn set_max_remaining(&mut self, max_remaining: usize) {
        self.max_remaining = max_remaining;
    }

    /// Where the next read goes (with room reserved for it).
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        self.buffer.reserve(8 * 1024);
        &mut self.buffer
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole packet, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, PacketError> {
        let Some(FixedHeader { first, header_len, remaining }) = fixed_header(&self.buffer)? else {
            return Ok(None);
        };
        if remaining > self.max_remaining {
            return Err(PacketError::TooLarge(header_len + remaining));
        }
        if !is_client_packet_header(first, remaining) {
            return Err(PacketError::Malformed("packet type or fixed-header flags a client may not send"));
        }
        let total = header_len + remaining;
        if self.buffer.len() < total {
            return Ok(None);
        }
        Ok(Some(Frame { bytes: self.buffer.split_to(total).freeze(), body_start: header_len }))
    }
}

/// The fixed header at the start of `bytes`: its first byte, its length (type byte and
/// remaining length) and the remaining length it announces. `None` until it is all there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedHeader {
    pub first: u8,
    pub header_len: usize,
    pub remaining: usize,
}

pub fn fixed_header(bytes: &[u8]) -> Result<Option<FixedHeader>, PacketError> {
    let Some(&first) = bytes.first() else {
        return Ok(None);
    };
    let mut remaining: usize = 0;
    let mut header_len = 1;
    loop {
        if header_len > 4 {
            return Err(PacketError::Malformed("remaining length longer than 4 bytes"));
        }
        let Some(&byte) = bytes.get(header_len) else {
            return Ok(None);
        };
        remaining |= usize::from(byte & 0x7f) << (7 * (header_len - 1));
        header_len += 1;
        if byte & 0x80 == 0 {
            return Ok(Some(FixedHeader { first, header_len, remaining }));
        }
    }
}

// Packet types (MQTT 3.1.1, section 2.2.1).
pub const CONNECT: u8 = 1;
pub const PUBLISH: u8 = 3;
pub const PUBACK: u8 = 4;
pub const PUBREC: u8 = 5;
pub const PUBREL: u8 = 6;
pub const PUBCOMP: u8 = 7;
pub const SUBSCRIBE: u8 = 8;
/// Sent by the server only (the door answers a phone's SUBSCRIBE itself).
pub const SUBACK: u8 = 9;
pub const UNSUBSCRIBE: u8 = 10;
/// Sent by the server only.
pub const UNSUBACK: u8 = 11;
pub const PINGREQ: u8 = 12;
pub const DISCONNECT: u8 = 14;

/// Whether the first byte and length fit a packet a client may send (section 2.2.2: the flags
/// are fixed for every type but PUBLISH, whose QoS may not be 3).
fn is_client_packet_header(first: u8, remaining: usize) -> bool {
    let flags = first & 0x0f;
    match first >> 4 {
        CONNECT => flags == 0,
        PUBLISH => (flags >> 1) & 0b11 != 0b11,
        PUBACK | PUBREC | PUBCOMP => flags == 0 && remaining == 2,
        PUBREL => flags == 0b0010 && remaining == 2,
        SUBSCRIBE | UNSUBSCRIBE => flags == 0b0010,
        PINGREQ | DISCONNECT => flags == 0 && remaining == 0,
        _ => false,
    }
}

/// A client's last will, from its CONNECT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub message: Bytes,
    pub qos: u8,
    pub retain: bool,
}

/// A CONNECT packet (section 3.1), MQTT 3.1.1 only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect {
    pub clean_session: bool,
    pub keep_alive: u16,
    pub client_id: String,
    pub will: Option<Will>,
    pub username: Option<String>,
    pub password: Option<Bytes>,
}

/// A packet a client sent, as far as the door reads it. A PUBLISH's payload is not copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientPacket {
    Connect(Connect),
    Publish { dup: bool, qos: u8, retain: bool, topic: String, packet_id: Option<u16>, payload: Bytes },
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Subscribe { packet_id: u16, filters: Vec<(String, u8)> },
    Unsubscribe { packet_id: u16, filters: Vec<String> },
    PingReq,
    Disconnect,
}

impl ClientPacket {
    /// Reads a whole packet from its frame.
    pub fn parse(frame: &Frame) -> Result<Self, PacketError> {
        let mut body = Reader(frame.body());
        let flags = frame.flags();
        let packet = match frame.packet_type() {
            CONNECT => ClientPacket::Connect(parse_connect(&mut body)?),
            PUBLISH => {
                let qos = (flags >> 1) & 0b11;
                let topic = body.string()?;
                if topic.is_empty() || topic.contains(['+', '#']) {
                    return Err(PacketError::Malformed("PUBLISH topic empty or with a wildcard"));
                }
                let packet_id = if qos > 0 { Some(body.packet_id()?) } else { None };
                ClientPacket::Publish {
                    dup: flags & 0b1000 != 0,
                    qos,
                    retain: flags & 0b0001 != 0,
                    topic,
                    packet_id,
                    payload: body.rest(),
                }
            }
            PUBACK => ClientPacket::PubAck(body.packet_id()?),
            PUBREC => ClientPacket::PubRec(body.packet_id()?),
            PUBREL => ClientPacket::PubRel(body.packet_id()?),
            PUBCOMP => ClientPacket::PubComp(body.packet_id()?),
            SUBSCRIBE => {
                let packet_id = body.packet_id()?;
                let mut filters = Vec::new();
                while body.has_more() {
                    let filter = body.filter()?;
                    let qos = body.u8()?;
                    if qos > 2 {
                        return Err(PacketError::Malformed("SUBSCRIBE requested QoS above 2"));
                    }
                    filters.push((filter, qos));
                }
                if filters.is_empty() {
                    return Err(PacketError::Malformed("SUBSCRIBE without a topic filter"));
                }
                ClientPacket::Subscribe { packet_id, filters }
            }
            UNSUBSCRIBE => {
                let packet_id = body.packet_id()?;
                let mut filters = Vec::new();
                while body.has_more() {
                    filters.push(body.filter()?);
                }
                if filters.is_empty() {
                    return Err(PacketError::Malformed("UNSUBSCRIBE without a topic filter"));
                }
                ClientPacket::Unsubscribe { packet_id, filters }
            }
            PINGREQ => ClientPacket::PingReq,
            DISCONNECT => ClientPacket::Disconnect,
            _ => return Err(PacketError::Malformed("packet type a client may not send")),
        };
        if body.has_more() {
            return Err(PacketError::Malformed("bytes after the end of the packet"));
        }
        Ok(packet)
    }

    /// Encodes the packet (remaining length in its shortest form).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let first = match self {
            ClientPacket::Connect(connect) => {
                encode_connect(connect, &mut body);
                CONNECT << 4
            }
            ClientPacket::Publish { dup, qos, retain, topic, packet_id, payload } => {
                put_string(&mut body, topic);
                if let Some(id) = packet_id {
                    body.put_u16(*id);
                }
                body.extend_from_slice(payload);
                PUBLISH << 4 | u8::from(*dup) << 3 | (qos & 0b11) << 1 | u8::from(*retain)
            }
            ClientPacket::PubAck(id) => {
                body.put_u16(*id);
                PUBACK << 4
            }
            ClientPacket::PubRec(id) => {
                body.put_u16(*id);
                PUBREC << 4
            }
            ClientPacket::PubRel(id) => {
                body.put_u16(*id);
                PUBREL << 4 | 0b0010
            }
            ClientPacket::PubComp(id) => {
                body.put_u16(*id);
                PUBCOMP << 4
            }
            ClientPacket::Subscribe { packet_id, filters } => {
                body.put_u16(*packet_id);
                for (filter, qos) in filters {
                    put_string(&mut body, filter);
                    body.put_u8(*qos);
                }
                SUBSCRIBE << 4 | 0b0010
            }
            ClientPacket::Unsubscribe { packet_id, filters } => {
                body.put_u16(*packet_id);
                for filter in filters {
                    put_string(&mut body, filter);
                }
                UNSUBSCRIBE << 4 | 0b0010
            }
            ClientPacket::PingReq => PINGREQ << 4,
            ClientPacket::Disconnect => DISCONNECT << 4,
        };
        let mut packet = Vec::with_capacity(body.len() + 5);
        packet.push(first);
        put_remaining_length(&mut packet, body.len());
        packet.extend_from_slice(&body);
        packet
    }
}

/// The return codes of a CONNACK (section 3.2.2.3) the door answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectRefusal {
    ProtocolVersion = 1,
    ServerUnavailable = 3,
    BadUsernameOrPassword = 4,
    NotAuthorised = 5,
}

/// A CONNACK refusing the connection.
pub fn connack_refusal(code: ConnectRefusal) -> [u8; 4] {
    [0x20, 2, 0, code as u8]
}

const PROTOCOL_NAME: &str = "MQTT";
const PROTOCOL_LEVEL: u8 = 4;

fn parse_connect(body: &mut Reader) -> Result<Connect, PacketError> {
    let name = body.string()?;
    let level = body.u8()?;
    if name != PROTOCOL_NAME || level != PROTOCOL_LEVEL {
        // MQTT 3.1 calls itself "MQIsdp"; anything else is not MQTT at all.
        if name == PROTOCOL_NAME || name == "MQIsdp" {
            return Err(PacketError::ProtocolVersion { name, level });
        }
        return Err(PacketError::Malformed("not an MQTT CONNECT"));
    }
    let flags = body.u8()?;
    if flags & 0b1 != 0 {
        return Err(PacketError::Malformed("CONNECT reserved flag set"));
    }
    let (has_username, has_password, has_will) =
        (flags & 0b1000_0000 != 0, flags & 0b0100_0000 != 0, flags & 0b0000_0100 != 0);
    let (will_qos, will_retain) = ((flags >> 3) & 0b11, flags & 0b0010_0000 != 0);
    if will_qos > 2 || (!has_will && (will_qos != 0 || will_retain)) {
        return Err(PacketError::Malformed("CONNECT will flags"));
    }
    if has_password && !has_username {
        return Err(PacketError::Malformed("CONNECT password without a user name"));
    }
    let keep_alive = body.u16()?;
    let client_id = body.string()?;
    let will = if has_will {
        let topic = body.string()?;
        if topic.is_empty() || topic.contains(['+', '#']) {
            return Err(PacketError::Malformed("will topic empty or with a wildcard"));
        }
        Some(Will { topic, message: body.binary()?, qos: will_qos, retain: will_retain })
    } else {
        None
    };
    let username = if has_username { Some(body.string()?) } else { None };
    let password = if has_password { Some(body.binary()?) } else { None };
    Ok(Connect { clean_session: flags & 0b10 != 0, keep_alive, client_id, will, username, password })
}

fn encode_connect(connect: &Connect, body: &mut Vec<u8>) {
    put_string(body, PROTOCOL_NAME);
    body.put_u8(PROTOCOL_LEVEL);
    let mut flags = u8::from(connect.clean_session) << 1;
    if let Some(will) = &connect.will {
        flags |= 0b100 | (will.qos & 0b11) << 3 | u8::from(will.retain) << 5;
    }
    if connect.password.is_some() {
        flags |= 0b0100_0000;
    }
    if connect.username.is_some() || connect.password.is_some() {
        flags |= 0b1000_0000;
    }
    body.put_u8(flags);
    body.put_u16(connect.keep_alive);
    put_string(body, &connect.client_id);
    if let Some(will) = &connect.will {
        put_string(body, &will.topic);
        put_binary(body, &will.message);
    }
    if connect.username.is_some() || connect.password.is_some() {
        put_string(body, connect.username.as_deref().unwrap_or(""));
    }
    if let Some(password) = &connect.password {
        put_binary(body, password);
    }
}

fn put_string(out: &mut Vec<u8>, text: &str) {
    put_binary(out, text.as_bytes());
}

/// Writes a length-prefixed field; longer than 65,535 bytes is cut (never produced by the door:
/// it only re-encodes fields that arrived with such a prefix).
fn put_binary(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len().min(usize::from(u16::MAX));
    out.put_u16(len as u16);
    out.extend_from_slice(&bytes[..len]);
}

fn put_remaining_length(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
}

/// Reads a packet body field by field; running short is malformed, never a panic.
struct Reader(Bytes);

impl Reader {
    fn has_more(&self) -> bool {
        self.0.has_remaining()
    }

    fn u8(&mut self) -> Result<u8, PacketError> {
        self.0.try_get_u8().map_err(|_| PacketError::Malformed("packet ends early"))
    }

    fn u16(&mut self) -> Result<u16, PacketError> {
        self.0.try_get_u16().map_err(|_| PacketError::Malformed("packet ends early"))
    }

    fn packet_id(&mut self) -> Result<u16, PacketError> {
        match self.u16()? {
            0 => Err(PacketError::Malformed("packet identifier 0")),
            id => Ok(id),
        }
    }

    fn binary(&mut self) -> Result<Bytes, PacketError> {
        let len = usize::from(self.u16()?);
        if self.0.len() < len {
            return Err(PacketError::Malformed("field longer than the packet"));
        }
        Ok(self.0.split_to(len))
    }

    /// A UTF-8 string (section 1.5.3): valid UTF-8 without U+0000.
    fn string(&mut self) -> Result<String, PacketError> {
        let bytes = self.binary()?;
        let text = std::str::from_utf8(&bytes).map_err(|_| PacketError::Malformed("string is not UTF-8"))?;
        if text.contains('\0') {
            return Err(PacketError::Malformed("string contains U+0000"));
        }
        Ok(text.to_string())
    }

    fn filter(&mut self) -> Result<String, PacketError> {
        let filter = self.string()?;
        if filter.is_empty() {
            return Err(PacketError::Malformed("empty topic filter"));
        }
        Ok(filter)
    }

    fn rest(&mut self) -> Bytes {
        self.0.split_to(self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = 64 * 1024;

    fn frames(bytes: &[u8]) -> Result<Vec<Frame>, PacketError> {
        let mut framer = Framer::new(MAX);
        framer.push(bytes);
        let mut frames = Vec::new();
        while let Some(frame) = framer.next_frame()? {
            frames.push(frame);
        }
        Ok(frames)
    }

    fn parse_one(bytes: &[u8]) -> Result<ClientPacket, PacketError> {
        let frames = frames(bytes)?;
        assert_eq!(frames.len(), 1, "one packet in {bytes:?}");
        ClientPacket::parse(&frames[0])
    }

    #[test]
    fn an_agents_connect_parses_and_re_encodes_byte_for_byte() {
        // As the agent connects: client id "convoy-agent-t1", keep alive 15 s, clean session
        // off, a retained QoS 1 will, user "t1", password "pw".
        let mut bytes = vec![0x10, 0];
        let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0b1110_1100, 0, 15];
        for field in [&b"convoy-agent-t1"[..], b"convoy/v1/vehicles/t1/status", b"off", b"t1", b"pw"] {
            body.extend_from_slice(&(field.len() as u16).to_be_bytes());
            body.extend_from_slice(field);
        }
        bytes[1] = body.len() as u8;
        bytes.extend_from_slice(&body);
        let ClientPacket::Connect(connect) = parse_one(&bytes).unwrap() else { panic!("not a CONNECT") };
        assert_eq!(connect.client_id, "convoy-agent-t1");
        assert_eq!(connect.username.as_deref(), Some("t1"));
        assert_eq!(connect.password.as_deref(), Some(&b"pw"[..]));
        assert_eq!(connect.keep_alive, 15);
        assert!(!connect.clean_session);
        let will = connect.will.as_ref().unwrap();
        assert_eq!((will.topic.as_str(), will.qos, will.retain), ("convoy/v1/vehicles/t1/status", 1, true));
        assert_eq!(ClientPacket::Connect(connect).encode(), bytes, "re-encodes byte for byte");
    }

    #[test]
    fn other_protocol_versions_are_named_as_such() {
        let mqtt5 = [0x10, 10, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 60];
        assert!(matches!(parse_one(&mqtt5), Err(PacketError::ProtocolVersion { level: 5, .. })));
        let mqtt31 = [0x10, 12, 0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3, 0x02, 0, 60];
        assert!(matches!(parse_one(&mqtt31), Err(PacketError::ProtocolVersion { level: 3, .. })));
        let http = b"GET / HTTP/1.1\r\n\r\n";
        assert!(matches!(frames(http), Err(PacketError::Malformed(_))));
    }

    #[test]
    fn server_packets_and_bad_flags_are_refused_from_the_header() {
        for header in [[0x20, 2], [0x90, 3], [0xd0, 0], [0x00, 0], [0xf0, 0], [0x80, 5], [0x60, 2], [0x36, 5]]
        {
            assert!(matches!(frames(&header), Err(PacketError::Malformed(_))), "{header:?}");
        }
    }

    #[test]
    fn an_oversized_packet_is_refused_before_its_body_arrives() {
        // 0x81 0x80 0x04 = 65,537 bytes announced, one more than allowed; no body sent.
        assert_eq!(frames(&[0x30, 0x81, 0x80, 0x04]), Err(PacketError::TooLarge(65_541)));
        let mut just_fits = vec![0x30, 0x80, 0x80, 0x04, 0, 1, b'a'];
        just_fits.resize(4 + MAX, 0);
        assert_eq!(frames(&just_fits).unwrap().len(), 1);
        assert!(matches!(frames(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), Err(PacketError::Malformed(_))));
    }

    #[test]
    fn fields_past_the_end_or_left_over_are_malformed() {
        // A topic length of 10 in a 4-byte body.
        assert!(matches!(parse_one(&[0x30, 4, 0, 10, b'a', b'b']), Err(PacketError::Malformed(_))));
        // A SUBSCRIBE whose last filter lacks its QoS byte.
        assert!(matches!(parse_one(&[0x82, 5, 0, 1, 0, 1, b'a']), Err(PacketError::Malformed(_))));
        // QoS 1 PUBLISH with packet id 0.
        assert!(matches!(parse_one(&[0x32, 5, 0, 1, b'a', 0, 0]), Err(PacketError::Malformed(_))));
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-z0-9/._-]{1,40}"
    }

    fn topic() -> impl Strategy<Value = String> {
        "[a-z0-9._-]{1,12}(/[a-z0-9._-]{1,12}){0,4}"
    }

    fn payload() -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Bytes::from)
    }

    fn connect() -> impl Strategy<Value = Connect> {
        let will = proptest::option::of(
            (topic(), payload(), 0u8..=2, any::<bool>()).prop_map(|(topic, message, qos, retain)| Will {
                topic,
                message,
                qos,
                retain,
            }),
        );
        let credentials =
            proptest::option::of((text(), proptest::option::of(payload()))).prop_map(|c| match c {
                Some((user, password)) => (Some(user), password),
                None => (None, None),
            });
        (any::<bool>(), any::<u16>(), "[a-zA-Z0-9-]{0,30}", will, credentials).prop_map(
            |(clean_session, keep_alive, client_id, will, (username, password))| Connect {
                clean_session,
                keep_alive,
                client_id,
                will,
                username,
                password,
            },
        )
    }

    fn packet() -> impl Strategy<Value = ClientPacket> {
        let id = 1u16..;
        prop_oneof![
            connect().prop_map(ClientPacket::Connect),
            (any::<bool>(), 0u8..=2, any::<bool>(), topic(), id.clone(), payload()).prop_map(
                |(dup, qos, retain, topic, id, payload)| ClientPacket::Publish {
                    dup,
                    qos,
                    retain,
                    topic,
                    packet_id: (qos > 0).then_some(id),
                    payload,
                }
            ),
            id.clone().prop_map(ClientPacket::PubAck),
            id.clone().prop_map(ClientPacket::PubRec),
            id.clone().prop_map(ClientPacket::PubRel),
            id.clone().prop_map(ClientPacket::PubComp),
            (id.clone(), proptest::collection::vec((text(), 0u8..=2), 1..5))
                .prop_map(|(packet_id, filters)| ClientPacket::Subscribe { packet_id, filters }),
            (id, proptest::collection::vec(text(), 1..5))
                .prop_map(|(packet_id, filters)| ClientPacket::Unsubscribe { packet_id, filters }),
            Just(ClientPacket::PingReq),
            Just(ClientPacket::Disconnect),
        ]
    }

    fn parse_all(framer: &mut Framer, into: &mut Vec<ClientPacket>) -> Result<(), PacketError> {
        while let Some(frame) = framer.next_frame()? {
            into.push(ClientPacket::parse(&frame)?);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), cut in 0usize..2048) {
            let mut framer = Framer::new(1024);
            let (a, b) = bytes.split_at(cut.min(bytes.len()));
            let mut packets = Vec::new();
            framer.push(a);
            if parse_all(&mut framer, &mut packets).is_ok() {
                framer.push(b);
                let _ = parse_all(&mut framer, &mut packets);
            }
        }

        #[test]
        fn arbitrary_bodies_behind_valid_headers_never_panic(
            first in prop::sample::select(vec![0x10u8, 0x30, 0x32, 0x3d, 0x40, 0x62, 0x82, 0xa2, 0xc0, 0xe0]),
            body in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let mut bytes = vec![first];
            put_remaining_length(&mut bytes, body.len());
            bytes.extend_from_slice(&body);
            if let Ok(Some(frame)) = { let mut f = Framer::new(MAX); f.push(&bytes); f.next_frame() } {
                let _ = ClientPacket::parse(&frame);
            }
        }

        #[test]
        fn valid_packets_round_trip(packet in packet()) {
            let bytes = packet.encode();
            let frames = frames(&bytes).unwrap();
            prop_assert_eq!(frames.len(), 1);
            prop_assert_eq!(&frames[0].bytes[..], &bytes[..]);
            prop_assert_eq!(ClientPacket::parse(&frames[0]).unwrap(), packet);
        }

        #[test]
        fn packets_split_anywhere_parse_the_same(
            packets in proptest::collection::vec(packet(), 1..6),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let stream: Vec<u8> = packets.iter().flat_map(|p| p.encode()).collect();
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
            cuts.push(0);
            cuts.push(stream.len());
            cuts.sort_unstable();
            let mut framer = Framer::new(MAX);
            let mut parsed = Vec::new();
            for window in cuts.windows(2) {
                framer.push(&stream[window[0]..window[1]]);
                parse_all(&mut framer, &mut parsed).unwrap();
            }
            prop_assert_eq!(parsed, packets);
        }
    }
}
