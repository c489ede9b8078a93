//! `FrameCounter`: counts the gRPC messages in a body from its length-prefixed framing.
//!
//! Every gRPC message is a 5-byte prefix (a compressed flag and a big-endian length)
//! followed by that many bytes, compressed or not, so counting needs no decoding and sees
//! compressed and uncompressed messages alike.

/// The length of a message's prefix: the compressed flag and a 4-byte length.
const PREFIX: usize = 5;

/// Counts the messages completed in a byte stream fed to it in chunks of any size.
#[derive(Debug, Default)]
pub(crate) struct FrameCounter {
    /// The prefix of the next message, as far as it has arrived.
    prefix: [u8; PREFIX],
    /// How many bytes of `prefix` have arrived.
    filled: usize,
    /// The bytes of the current message still to come; zero between messages.
    remaining: u64,
}

impl FrameCounter {
    /// Consumes the next `bytes` of the stream and returns how many messages they completed.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> u64 {
        let mut completed = 0;
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let take = bytes
                    .len()
                    .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                self.remaining -= take as u64;
                bytes = &bytes[take..];
                if self.remaining == 0 {
                    completed += 1;
                }
                continue;
            }
            let take = bytes.len().min(PREFIX - self.filled);
            self.prefix[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled == PREFIX {
                self.filled = 0;
                let [_, a, b, c, d] = self.prefix;
                self.remaining = u64::from(u32::from_be_bytes([a, b, c, d]));
                if self.remaining == 0 {
                    completed += 1;
                }
            }
        }
        completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns `lengths` messages framed one after another.
    fn framed(lengths: &[u32]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for &length in lengths {
            bytes.push(0);
            bytes.extend_from_slice(&length.to_be_bytes());
            bytes.extend(std::iter::repeat_n(7u8, length as usize));
        }
        bytes
    }

    /// Feeds `bytes` in chunks of `chunk` bytes and returns the count after each chunk.
    fn counts(bytes: &[u8], chunk: usize) -> Vec<u64> {
        let mut counter = FrameCounter::default();
        bytes.chunks(chunk).map(|c| counter.feed(c)).collect()
    }

    #[test]
    fn counts_messages_however_the_bytes_are_split() {
        let bytes = framed(&[0, 3, 300, 0, 1]);
        for chunk in 1..=bytes.len() {
            assert_eq!(
                counts(&bytes, chunk).iter().sum::<u64>(),
                5,
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_message_counts_when_its_last_byte_arrives() {
        // Prefix of 5 bytes, then 2 bytes of payload.
        let bytes = framed(&[2]);
        assert_eq!(counts(&bytes, 6), vec![0, 1]);
        assert_eq!(counts(&bytes, 5), vec![0, 1]);
        // An empty message is complete with its prefix.
        assert_eq!(counts(&framed(&[0]), 4), vec![0, 1]);
    }

    #[test]
    fn a_cut_message_is_not_counted() {
        let mut bytes = framed(&[4, 4]);
        bytes.pop();
        assert_eq!(counts(&bytes, 64), vec![1]);
    }
}
