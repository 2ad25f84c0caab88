//! Device wrappers the systems built with the facade share.

use fireball_sys::hal::{Adc, Device, HalError, Value};

/// An ADC that tells `on_read` every sample it returns, in order (a test or a
/// firmware recomputes a guest's output from them). Everything else is the
/// inner device's.
pub struct AdcTap<'f, A> {
    inner: A,
    on_read: &'f mut dyn FnMut(u8, u16),
}

impl<'f, A: Adc + Device> AdcTap<'f, A> {
    /// Wrap `inner`.
    pub fn new(inner: A, on_read: &'f mut dyn FnMut(u8, u16)) -> Self {
        AdcTap { inner, on_read }
    }

    /// The inner device.
    pub fn inner(&mut self) -> &mut A {
        &mut self.inner
    }
}

impl<A: Adc + Device> Adc for AdcTap<'_, A> {
    fn channels(&self) -> u8 {
        self.inner.channels()
    }

    fn read(&mut self, channel: u8) -> Result<u16, HalError> {
        let v = self.inner.read(channel)?;
        (self.on_read)(channel, v);
        Ok(v)
    }
}

impl<A: Adc + Device> Device for AdcTap<'_, A> {
    fn support_adc(&mut self) -> Option<&mut dyn Adc> {
        Some(self)
    }

    fn configure(&mut self, key: u8, value: Value<'_>) -> Result<(), HalError> {
        self.inner.configure(key, value)
    }

    fn query(&mut self, key: u8) -> Result<Value<'_>, HalError> {
        self.inner.query(key)
    }
}
