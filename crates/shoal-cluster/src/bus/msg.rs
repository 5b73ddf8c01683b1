//! Cluster bus messages and their binary form.
//!
//! A frame is `magic "SHB" | version u8 | body length u32 BE | body | crc32 u32 BE (of body)`.
//! Frames are bounded ([`MAX_FRAME`], or [`MAX_PUBLISH_FRAME`] for the PUBLISH types, whose
//! payload is a client's message); a bad magic, unknown version, wrong checksum or a body
//! that does not parse is an error the link counts and drops, never trusted.

use crate::slotset::SlotSet;
use crate::state::NodeId;

pub const MAGIC: &[u8; 3] = b"SHB";
pub const VERSION: u8 = 2;
/// Largest body accepted: a header (about 2.2 KiB) plus a generous gossip section.
pub const MAX_FRAME: usize = 256 * 1024;
/// Largest PUBLISH / PUBLISHSHARD body: a channel and a message of up to proto-max-bulk-len
/// (512 MiB) each, as a client may publish them.
pub const MAX_PUBLISH_FRAME: usize = 1100 * 1024 * 1024;
const HEADER_LEN: usize = 3 + 1 + 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ping = 0,
    Pong = 1,
    Meet = 2,
    Fail = 3,
    Update = 4,
    /// A replica asks the primaries for their vote in an election.
    AuthRequest = 5,
    /// A primary's vote.
    AuthAck = 6,
    /// A replica asks its primary to start a manual failover (pause writes).
    MfStart = 7,
    /// PUBLISH on the sender: its subscribers here get the message (Redis's
    /// CLUSTERMSG_TYPE_PUBLISH, sent to every node).
    Publish = 8,
    /// SPUBLISH on the sender: its shard channel's subscribers here get the message (Redis's
    /// CLUSTERMSG_TYPE_PUBLISHSHARD, sent to the nodes of the sender's shard).
    PublishShard = 9,
}

impl Kind {
    /// PUBLISH and PUBLISHSHARD: a client's message, not cluster state.
    pub fn is_publish(self) -> bool {
        matches!(self, Kind::Publish | Kind::PublishShard)
    }
}

/// Manual-failover flags a message carries (`Header::mflags`).
pub mod mflags {
    /// The sender is a primary whose clients are paused for a manual failover.
    pub const PAUSED: u8 = 1;
    /// An election request to be granted although the primary is not failed.
    pub const FORCEACK: u8 = 2;
}

/// Flags a node announces about itself (and gossips about others).
pub mod nflags {
    pub const PRIMARY: u16 = 1;
    pub const REPLICA: u16 = 2;
    pub const PFAIL: u16 = 4;
    pub const FAIL: u16 = 8;
    pub const NOFAILOVER: u16 = 16;
}

/// What every message says about its sender.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub sender: NodeId,
    pub current_epoch: u64,
    /// The sender's configEpoch; a replica sends its primary's.
    pub config_epoch: u64,
    pub flags: u16,
    /// Manual-failover flags (`mflags`).
    pub mflags: u8,
    /// Replication offset: produced (primary) or applied (replica).
    pub offset: u64,
    pub primary: Option<NodeId>,
    /// Announced IP; empty = use the address the message came from.
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub hostname: String,
    /// The sender's slots; a replica sends its primary's.
    pub slots: SlotSet,
    pub state_ok: bool,
}

/// One gossip entry: what the sender knows of another node.
#[derive(Clone, Debug, PartialEq)]
pub struct Gossip {
    pub id: NodeId,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub flags: u16,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// PING, PONG and MEET carry gossip about a few other nodes.
    Gossip(Vec<Gossip>),
    /// FAIL: this node is failed, says a majority.
    Fail(NodeId),
    /// UPDATE: `node` owns `slots` with `config_epoch` (sent to a node with a stale view).
    Update {
        node: NodeId,
        config_epoch: u64,
        slots: SlotSet,
    },
    /// PUBLISH / PUBLISHSHARD: a channel and a message (lengths u32, as Redis's
    /// clusterMsgDataPublish).
    Publish { channel: Vec<u8>, message: Vec<u8> },
    /// Election messages carry only the header.
    Empty,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub kind: Kind,
    pub header: Header,
    pub body: Body,
}

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    BadMagic,
    BadVersion(u8),
    TooLarge(usize),
    BadChecksum,
    Malformed(&'static str),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::BadMagic => f.write_str("bad magic"),
            DecodeError::BadVersion(v) => write!(f, "unknown version {v}"),
            DecodeError::TooLarge(n) => write!(f, "frame of {n} bytes is too large"),
            DecodeError::BadChecksum => f.write_str("bad checksum"),
            DecodeError::Malformed(w) => write!(f, "malformed {w}"),
        }
    }
}

/// CRC-32 (IEEE, reflected) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, &b| {
        t[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8)
    })
}

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn id(&mut self, id: &NodeId) {
        self.0.extend_from_slice(id.as_str().as_bytes());
    }
    fn str(&mut self, s: &str) {
        let b = &s.as_bytes()[..s.len().min(255)];
        self.u8(b.len() as u8);
        self.0.extend_from_slice(b);
    }
    fn slots(&mut self, s: &SlotSet) {
        for w in s.words() {
            self.u64(*w);
        }
    }
}

struct R<'a>(&'a [u8]);

impl<'a> R<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Malformed(what));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn id(&mut self, what: &'static str) -> Result<NodeId, DecodeError> {
        NodeId::parse(self.take(40, what)?).ok_or(DecodeError::Malformed(what))
    }
    fn str(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let n = self.u8(what)? as usize;
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::Malformed(what))
    }
    fn slots(&mut self) -> Result<SlotSet, DecodeError> {
        let mut words = [0u64; crate::slot::SLOTS / 64];
        for w in words.iter_mut() {
            *w = self.u64("slots")?;
        }
        Ok(SlotSet::from_words(words))
    }
}

impl Message {
    /// The whole frame, ready to write.
    pub fn encode(&self) -> Vec<u8> {
        let payload = match &self.body {
            Body::Publish { channel, message } => channel.len() + message.len() + 8,
            _ => 0,
        };
        // Room for the frame header first: it is filled in once the body's length is known.
        let mut w = W(Vec::with_capacity(HEADER_LEN + 2600 + payload + 4));
        w.0.extend_from_slice(&[0; HEADER_LEN]);
        w.u8(self.kind as u8);
        let h = &self.header;
        w.id(&h.sender);
        w.u64(h.current_epoch);
        w.u64(h.config_epoch);
        w.u16(h.flags);
        w.u8(h.mflags);
        w.u64(h.offset);
        match &h.primary {
            Some(p) => {
                w.u8(1);
                w.id(p);
            }
            None => w.u8(0),
        }
        w.str(&h.ip);
        w.u16(h.port);
        w.u16(h.cport);
        w.str(&h.hostname);
        w.slots(&h.slots);
        w.u8(h.state_ok as u8);
        match &self.body {
            Body::Gossip(g) => {
                w.u16(g.len() as u16);
                for e in g {
                    w.id(&e.id);
                    w.str(&e.ip);
                    w.u16(e.port);
                    w.u16(e.cport);
                    w.u16(e.flags);
                }
            }
            Body::Fail(id) => w.id(id),
            Body::Update {
                node,
                config_epoch,
                slots,
            } => {
                w.id(node);
                w.u64(*config_epoch);
                w.slots(slots);
            }
            Body::Publish { channel, message } => {
                w.u32(channel.len() as u32);
                w.u32(message.len() as u32);
                w.0.extend_from_slice(channel);
                w.0.extend_from_slice(message);
            }
            Body::Empty => {}
        }
        let mut frame = w.0;
        let body = &frame[HEADER_LEN..];
        let (len, crc) = (body.len() as u32, crc32(body));
        frame[..3].copy_from_slice(MAGIC);
        frame[3] = VERSION;
        frame[4..HEADER_LEN].copy_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&crc.to_be_bytes());
        frame
    }

    /// Decodes one frame from the front of `buf`: `Ok(None)` if it is not complete yet, else the
    /// message and the bytes it used.
    pub fn decode(buf: &[u8]) -> Result<Option<(Message, usize)>, DecodeError> {
        if buf.len() < HEADER_LEN {
            if !MAGIC.starts_with(&buf[..buf.len().min(3)]) {
                return Err(DecodeError::BadMagic);
            }
            return Ok(None);
        }
        if &buf[..3] != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        if buf[3] != VERSION {
            return Err(DecodeError::BadVersion(buf[3]));
        }
        let len = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
        if len > MAX_FRAME {
            // Only a PUBLISH type may be larger; its first body byte says which type it is.
            let Some(&kind) = buf.get(HEADER_LEN) else {
                return Ok(None);
            };
            let publish = kind == Kind::Publish as u8 || kind == Kind::PublishShard as u8;
            if !publish || len > MAX_PUBLISH_FRAME {
                return Err(DecodeError::TooLarge(len));
            }
        }
        let total = HEADER_LEN + len + 4;
        if buf.len() < total {
            return Ok(None);
        }
        let body = &buf[HEADER_LEN..HEADER_LEN + len];
        let crc = u32::from_be_bytes([
            buf[total - 4],
            buf[total - 3],
            buf[total - 2],
            buf[total - 1],
        ]);
        if crc32(body) != crc {
            return Err(DecodeError::BadChecksum);
        }
        let mut r = R(body);
        let kind = match r.u8("kind")? {
            0 => Kind::Ping,
            1 => Kind::Pong,
            2 => Kind::Meet,
            3 => Kind::Fail,
            4 => Kind::Update,
            5 => Kind::AuthRequest,
            6 => Kind::AuthAck,
            7 => Kind::MfStart,
            8 => Kind::Publish,
            9 => Kind::PublishShard,
            _ => return Err(DecodeError::Malformed("kind")),
        };
        let sender = r.id("sender")?;
        let current_epoch = r.u64("epoch")?;
        let config_epoch = r.u64("epoch")?;
        let flags = r.u16("flags")?;
        let mflags = r.u8("mflags")?;
        let offset = r.u64("offset")?;
        let primary = match r.u8("primary")? {
            0 => None,
            1 => Some(r.id("primary")?),
            _ => return Err(DecodeError::Malformed("primary")),
        };
        let ip = r.str("ip")?;
        let port = r.u16("port")?;
        let cport = r.u16("port")?;
        let hostname = r.str("hostname")?;
        let slots = r.slots()?;
        let state_ok = r.u8("state")? != 0;
        let header = Header {
            sender,
            current_epoch,
            config_epoch,
            flags,
            mflags,
            offset,
            primary,
            ip,
            port,
            cport,
            hostname,
            slots,
            state_ok,
        };
        let body = match kind {
            Kind::Ping | Kind::Pong | Kind::Meet => {
                let n = r.u16("gossip")? as usize;
                let mut g = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    g.push(Gossip {
                        id: r.id("gossip")?,
                        ip: r.str("gossip")?,
                        port: r.u16("gossip")?,
                        cport: r.u16("gossip")?,
                        flags: r.u16("gossip")?,
                    });
                }
                Body::Gossip(g)
            }
            Kind::Fail => Body::Fail(r.id("fail")?),
            Kind::Update => Body::Update {
                node: r.id("update")?,
                config_epoch: r.u64("update")?,
                slots: r.slots()?,
            },
            Kind::Publish | Kind::PublishShard => {
                let clen = r.u32("publish")? as usize;
                let mlen = r.u32("publish")? as usize;
                let channel = r.take(clen, "publish")?.to_vec();
                let message = r.take(mlen, "publish")?.to_vec();
                Body::Publish { channel, message }
            }
            Kind::AuthRequest | Kind::AuthAck | Kind::MfStart => Body::Empty,
        };
        if !r.0.is_empty() {
            return Err(DecodeError::Malformed("trailing bytes"));
        }
        Ok(Some((Message { kind, header, body }, total)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        let mut slots = SlotSet::new();
        slots.insert(5);
        slots.insert(16383);
        Message {
            kind: Kind::Ping,
            header: Header {
                sender: NodeId::random(),
                current_epoch: 7,
                config_epoch: 3,
                flags: nflags::PRIMARY,
                mflags: mflags::PAUSED,
                offset: 12345,
                primary: None,
                ip: "127.0.0.1".into(),
                port: 7000,
                cport: 17000,
                hostname: String::new(),
                slots,
                state_ok: true,
            },
            body: Body::Gossip(vec![Gossip {
                id: NodeId::random(),
                ip: "10.0.0.2".into(),
                port: 1,
                cport: 2,
                flags: nflags::PFAIL,
            }]),
        }
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn round_trip_and_partial_frames() {
        let m = sample();
        let f = m.encode();
        assert_eq!(Message::decode(&f).unwrap(), Some((m.clone(), f.len())));
        for cut in 0..f.len() {
            assert_eq!(Message::decode(&f[..cut]).unwrap(), None, "cut {cut}");
        }
        let u = Message {
            kind: Kind::Update,
            header: m.header.clone(),
            body: Body::Update {
                node: NodeId::random(),
                config_epoch: 9,
                slots: SlotSet::new(),
            },
        };
        let f = u.encode();
        assert_eq!(Message::decode(&f).unwrap().unwrap().0, u);
        for kind in [Kind::AuthRequest, Kind::AuthAck, Kind::MfStart] {
            let e = Message {
                kind,
                header: m.header.clone(),
                body: Body::Empty,
            };
            assert_eq!(Message::decode(&e.encode()).unwrap().unwrap().0, e);
        }
        for kind in [Kind::Publish, Kind::PublishShard] {
            let p = Message {
                kind,
                header: m.header.clone(),
                body: Body::Publish {
                    channel: b"news".to_vec(),
                    message: b"\x00binary\r\n".to_vec(),
                },
            };
            let f = p.encode();
            assert_eq!(Message::decode(&f).unwrap(), Some((p.clone(), f.len())));
            assert_eq!(Message::decode(&f[..f.len() - 1]).unwrap(), None);
        }
    }

    #[test]
    fn a_publish_may_exceed_the_frame_limit_other_types_may_not() {
        let mut m = sample();
        m.kind = Kind::Publish;
        m.body = Body::Publish {
            channel: b"big".to_vec(),
            message: vec![7u8; MAX_FRAME + 10],
        };
        let f = m.encode();
        assert_eq!(Message::decode(&f[..HEADER_LEN]).unwrap(), None);
        assert_eq!(Message::decode(&f[..f.len() / 2]).unwrap(), None);
        assert_eq!(Message::decode(&f).unwrap(), Some((m, f.len())));
        let mut bad = sample().encode();
        bad[4..8].copy_from_slice(&(MAX_FRAME as u32 + 1).to_be_bytes());
        assert!(matches!(
            Message::decode(&bad),
            Err(DecodeError::TooLarge(_))
        ));
        let mut huge = f.clone();
        huge[4..8].copy_from_slice(&(MAX_PUBLISH_FRAME as u32 + 1).to_be_bytes());
        assert!(matches!(
            Message::decode(&huge),
            Err(DecodeError::TooLarge(_))
        ));
    }

    #[test]
    fn damage_is_detected() {
        let f = sample().encode();
        let mut bad = f.clone();
        bad[0] = b'X';
        assert_eq!(Message::decode(&bad), Err(DecodeError::BadMagic));
        let mut bad = f.clone();
        bad[3] = 9;
        assert_eq!(Message::decode(&bad), Err(DecodeError::BadVersion(9)));
        let mut bad = f.clone();
        bad[20] ^= 1;
        assert_eq!(Message::decode(&bad), Err(DecodeError::BadChecksum));
        let mut bad = f.clone();
        bad[4..8].copy_from_slice(&(MAX_FRAME as u32 + 1).to_be_bytes());
        assert!(matches!(
            Message::decode(&bad),
            Err(DecodeError::TooLarge(_))
        ));
    }
}
