//! A small seeded generator (xorshift64*): the demo needs varied ids,
//! jitter and failure choices, not cryptographic randomness, and a seed
//! makes a run reproducible in tests.

#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn seeded(seed: u64) -> Self {
        // The state must never be zero.
        Self {
            state: (seed ^ 0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    /// Seeded from a random UUID, so two demo runs never share ids.
    pub fn from_entropy() -> Self {
        let bytes = *uuid::Uuid::new_v4().as_bytes();
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&bytes[..8]);
        Self::seeded(u64::from_le_bytes(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `low..=high` (the modulo bias is irrelevant here).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        debug_assert!(low <= high);
        low + self.next_u64() % (high - low + 1)
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next_u64() % 1000 < per_mille
    }

    /// A non-zero 8-byte span id.
    pub fn span_id(&mut self) -> [u8; 8] {
        loop {
            let value = self.next_u64();
            if value != 0 {
                return value.to_be_bytes();
            }
        }
    }

    /// A random (version 4 shaped) 16-byte trace id.
    pub fn trace_id(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn seeded_runs_repeat_and_stay_in_range() {
        let mut a = Rng::seeded(42);
        let mut b = Rng::seeded(42);
        for _ in 0..1000 {
            let value = a.between(10, 20);
            assert_eq!(value, b.between(10, 20));
            assert!((10..=20).contains(&value));
        }
        assert_ne!(Rng::seeded(1).span_id(), Rng::seeded(2).span_id());
    }
}
