//! Framing of one request and its answer on a broker connection: the size prefix, the request
//! header (with our client id and a correlation id) and the answer's correlation check.
//!
//! The headers and bodies are encoded and decoded by `kafka-protocol`; the framing stays ours
//! because the crate has no transport: it only encodes messages into and decodes them out of
//! buffers. Reading the frame ourselves also lets a step say what answered instead of Kafka
//! (a TLS record, an HTTP server, an oversized frame) before anything is decoded.

use std::io;

use bytes::Bytes;
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::messages::Exchange;
use super::settings::CLIENT_ID;

/// Largest response frame accepted (rskafka's default `max_message_size`).
const MAX_FRAME: i32 = 100 << 20;

/// A byte stream to a broker: TCP, or TLS over TCP.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What went wrong on the wire, before it is put in the terms of the request.
#[derive(Debug)]
pub(crate) enum Wire {
    Io(io::Error),
    /// The answer starts like a TLS record (handshake or alert).
    TlsRecord,
    /// A frame size no Kafka broker sends.
    BadSize(i32),
    /// An answer to another request.
    Correlation {
        expected: i32,
        got: i32,
    },
    /// The answer is a Kafka frame whose message cannot be decoded.
    Malformed(String),
    /// The request cannot be encoded at this version (a bug: the versions sent are fixed).
    Encode(String),
}

/// `size, header, body`: the header is request header v1 for every request sent here.
fn request_frame<R: Exchange>(
    request: &R,
    version: i16,
    correlation_id: i32,
) -> Result<Vec<u8>, String> {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
    let mut frame = vec![0u8; 4];
    header
        .encode(&mut frame, R::header_version(version))
        .and_then(|()| request.encode(&mut frame, version))
        .map_err(crate_error)?;
    let size = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    Ok(frame)
}

/// Decodes a message of `version`; failures are [`Wire::Malformed`].
fn decode<M: Decodable>(buf: &mut Bytes, version: i16) -> Result<M, Wire> {
    M::decode(buf, version).map_err(|e| Wire::Malformed(crate_error(e)))
}

/// A `kafka-protocol` error with its causes, on one line (some end in a newline).
fn crate_error(e: impl std::fmt::Display) -> String {
    format!("{e:#}").trim_end().replace('\n', " ")
}

/// Sends `request` as `version` with `correlation_id` and reads its answer.
pub(crate) async fn exchange<R: Exchange>(
    io: &mut dyn Io,
    request: &R,
    version: i16,
    correlation_id: i32,
) -> Result<R::Response, Wire> {
    let frame = request_frame(request, version, correlation_id).map_err(Wire::Encode)?;
    io.write_all(&frame).await.map_err(Wire::Io)?;
    io.flush().await.map_err(Wire::Io)?;
    let mut size = [0u8; 4];
    io.read_exact(&mut size).await.map_err(Wire::Io)?;
    if size[0] == 0x15 || size[0] == 0x16 {
        return Err(Wire::TlsRecord);
    }
    let size = i32::from_be_bytes(size);
    if !(4..=MAX_FRAME).contains(&size) {
        return Err(Wire::BadSize(size));
    }
    let mut answer = vec![0u8; size as usize];
    io.read_exact(&mut answer).await.map_err(Wire::Io)?;
    let mut answer = Bytes::from(answer);
    let header: ResponseHeader = decode(&mut answer, R::Response::header_version(version))?;
    if header.correlation_id != correlation_id {
        return Err(Wire::Correlation {
            expected: correlation_id,
            got: header.correlation_id,
        });
    }
    decode(&mut answer, version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ApiVersionsRequest;

    #[test]
    fn request_frame_is_header_v1() {
        let frame = request_frame(&ApiVersionsRequest::default(), 0, 7).unwrap();
        let client = CLIENT_ID.as_bytes();
        assert_eq!(&frame[..4], &((10 + client.len()) as i32).to_be_bytes());
        assert_eq!(&frame[4..6], &18i16.to_be_bytes());
        assert_eq!(&frame[6..8], &0i16.to_be_bytes());
        assert_eq!(&frame[8..12], &7i32.to_be_bytes());
        assert_eq!(&frame[12..14], &(client.len() as i16).to_be_bytes());
        assert_eq!(&frame[14..], client);
    }

    /// Answers one request on `broker` with `answer` (correlation id first), after reading it.
    async fn answer_once(broker: &mut tokio::io::DuplexStream, answer: &[u8]) {
        let mut size = [0u8; 4];
        broker.read_exact(&mut size).await.unwrap();
        let mut request = vec![0u8; i32::from_be_bytes(size) as usize];
        broker.read_exact(&mut request).await.unwrap();
        let mut frame = (answer.len() as i32).to_be_bytes().to_vec();
        frame.extend(answer);
        broker.write_all(&frame).await.unwrap();
    }

    #[tokio::test]
    async fn answers_are_checked_then_decoded() {
        let request = ApiVersionsRequest::default();
        let (mut client, mut broker) = tokio::io::duplex(1024);
        // correlation 9, error 0, one API: Metadata v0-v12
        let good = [0, 0, 0, 9, 0, 0, 0, 0, 0, 1, 0, 3, 0, 0, 0, 12];
        let mut call = async |answer: &[u8], id| {
            let broker = answer_once(&mut broker, answer);
            tokio::join!(exchange(&mut client, &request, 0, id), broker).0
        };
        let apis = call(&good, 9).await.unwrap();
        assert_eq!(apis.api_keys[0].max_version, 12);
        let other = call(&good, 10).await.unwrap_err();
        assert!(
            matches!(
                other,
                Wire::Correlation {
                    expected: 10,
                    got: 9
                }
            ),
            "{other:?}"
        );
        let truncated = call(&good[..12], 9).await.unwrap_err();
        assert!(matches!(truncated, Wire::Malformed(_)), "{truncated:?}");
    }
}
