//! Board backends: `embedded-hal` 1.0 pins, I²C bus and SPI device (mocks
//! written here against the traits) and an `AdcRead` driver, through the
//! registry, with their error kinds mapped to HAL errors.

use std::cell::RefCell;
use std::rc::Rc;

use embedded_hal::digital::{self, ErrorType as PinErrorType, InputPin, OutputPin};
use embedded_hal::i2c::{self, ErrorKind as I2cErrorKind, NoAcknowledgeSource, Operation as I2cOp};
use embedded_hal::spi::{self, Operation as SpiOp, SpiDevice};
use fireball_sys::hal::board::{AdcError, AdcPort, AdcRead, I2cPort, Inputs, Outputs, SpiPort};
use fireball_sys::hal::{key, Caps, HalError, Registry, Value};

/// A pin whose level lives in a shared cell (the "wire"), failing when asked.
#[derive(Clone)]
struct MockPin {
    wire: Rc<RefCell<bool>>,
    broken: bool,
}
impl MockPin {
    fn new() -> Self {
        MockPin { wire: Rc::new(RefCell::new(false)), broken: false }
    }
}
impl PinErrorType for MockPin {
    type Error = digital::ErrorKind;
}
impl OutputPin for MockPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        if self.broken {
            return Err(digital::ErrorKind::Other);
        }
        *self.wire.borrow_mut() = false;
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        if self.broken {
            return Err(digital::ErrorKind::Other);
        }
        *self.wire.borrow_mut() = true;
        Ok(())
    }
}
impl InputPin for MockPin {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        if self.broken {
            return Err(digital::ErrorKind::Other);
        }
        Ok(*self.wire.borrow())
    }
    fn is_low(&mut self) -> Result<bool, Self::Error> {
        self.is_high().map(|h| !h)
    }
}

/// An I²C bus with one EEPROM-like target at 0x50 (pointer + 16 bytes), and
/// a "busy" target at 0x51 that loses arbitration.
struct MockI2c {
    mem: [u8; 16],
    pointer: usize,
}
impl i2c::ErrorType for MockI2c {
    type Error = I2cErrorKind;
}
impl i2c::I2c for MockI2c {
    fn transaction(&mut self, address: u8, operations: &mut [I2cOp<'_>]) -> Result<(), Self::Error> {
        match address {
            0x50 => {}
            0x51 => return Err(I2cErrorKind::ArbitrationLoss),
            0x52 => return Err(I2cErrorKind::Overrun),
            _ => return Err(I2cErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)),
        }
        for op in operations {
            match op {
                I2cOp::Write(bytes) => {
                    if let Some((&reg, data)) = bytes.split_first() {
                        self.pointer = usize::from(reg) % 16;
                        for &b in data {
                            self.mem[self.pointer] = b;
                            self.pointer = (self.pointer + 1) % 16;
                        }
                    }
                }
                I2cOp::Read(buf) => {
                    for b in buf.iter_mut() {
                        *b = self.mem[self.pointer];
                        self.pointer = (self.pointer + 1) % 16;
                    }
                }
            }
        }
        Ok(())
    }
}

/// An SPI device that answers each byte with its complement, and counts
/// chip-select assertions (transactions).
struct MockSpi {
    transactions: Rc<RefCell<u32>>,
    broken: bool,
}
impl spi::ErrorType for MockSpi {
    type Error = spi::ErrorKind;
}
impl SpiDevice for MockSpi {
    fn transaction(&mut self, operations: &mut [SpiOp<'_, u8>]) -> Result<(), Self::Error> {
        if self.broken {
            return Err(spi::ErrorKind::ChipSelectFault);
        }
        *self.transactions.borrow_mut() += 1;
        for op in operations {
            match op {
                SpiOp::Read(buf) => buf.iter_mut().for_each(|b| *b = !0),
                SpiOp::Write(_) => {}
                SpiOp::Transfer(read, write) => {
                    for (i, r) in read.iter_mut().enumerate() {
                        *r = !write.get(i).copied().unwrap_or(0);
                    }
                }
                SpiOp::TransferInPlace(buf) => buf.iter_mut().for_each(|b| *b = !*b),
                SpiOp::DelayNs(_) => {}
            }
        }
        Ok(())
    }
}

/// A 3-channel ADC driver with its own error type.
#[derive(Debug)]
enum DriverError {
    Overrun,
    Calibrating,
}
impl AdcError for DriverError {
    fn kind(&self) -> HalError {
        match self {
            DriverError::Overrun => HalError::BusError,
            DriverError::Calibrating => HalError::Busy,
        }
    }
}
struct MockAdc {
    calibrating: bool,
}
impl AdcRead for MockAdc {
    type Error = DriverError;
    fn channels(&self) -> u8 {
        3
    }
    fn read_raw(&mut self, channel: u8) -> Result<u16, DriverError> {
        match (self.calibrating, channel) {
            (true, _) => Err(DriverError::Calibrating),
            (false, 2) => Err(DriverError::Overrun),
            (false, ch) => Ok(1000 + u16::from(ch)),
        }
    }
}

#[test]
fn output_and_input_pins_as_gpio() {
    let leds = [MockPin::new(), MockPin::new()];
    let wires: Vec<_> = leds.iter().map(|p| p.wire.clone()).collect();
    let button = MockPin::new();
    let button_wire = button.wire.clone();
    let mut outputs = Outputs::new(leds);
    let mut inputs = Inputs::new([button]);
    let mut broken = Outputs::new([MockPin { broken: true, ..MockPin::new() }]);

    let mut hal: Registry = Registry::new();
    let out_id = hal.register("gpio/0", &mut outputs).expect("slot");
    let in_id = hal.register("gpio/1", &mut inputs).expect("slot");
    let bad_id = hal.register("gpio/2", &mut broken).expect("slot");
    assert_eq!(hal.caps(out_id), Some(Caps::GPIO));

    let gpio = hal.gpio(out_id).expect("gpio");
    assert_eq!(gpio.pins(), 2);
    assert_eq!(gpio.read(1), Err(HalError::NotInitialized), "nothing driven yet");
    gpio.write(1, true).expect("led 1 on");
    assert!(*wires[1].borrow() && !*wires[0].borrow());
    assert_eq!(gpio.read(1), Ok(true));
    assert_eq!(gpio.write(2, true), Err(HalError::BadChannel));

    *button_wire.borrow_mut() = true;
    let gpio = hal.gpio(in_id).expect("gpio");
    assert_eq!(gpio.read(0), Ok(true));
    assert_eq!(gpio.write(0, false), Err(HalError::NotSupported));
    assert_eq!(gpio.write(1, false), Err(HalError::BadChannel));
    assert_eq!(gpio.read(1), Err(HalError::BadChannel));

    assert_eq!(hal.gpio(bad_id).and_then(|g| g.write(0, true)), Err(HalError::BusError));
    assert_eq!(hal.query(out_id, key::CHANNELS), Ok(Value::U32(2)));
    assert_eq!(hal.adc(out_id).err(), Some(HalError::NotSupported));
    let [_, led1] = outputs.release();
    assert!(*led1.wire.borrow());
}

#[test]
fn i2c_bus_errors_are_mapped() {
    let mut port = I2cPort::new(MockI2c { mem: [0; 16], pointer: 0 });
    let mut hal: Registry = Registry::new();
    let id = hal.register("i2c/0", &mut port).expect("slot");
    assert_eq!(hal.caps(id), Some(Caps::I2C | Caps::OFFLOAD), "an I2C bus also takes offloaded transfers");
    let i2c = hal.i2c(id).expect("i2c");
    i2c.write(0x50, &[3, 0xAA, 0xBB]).expect("write");
    let mut buf = [0u8; 2];
    i2c.write_read(0x50, &[3], &mut buf).expect("write_read");
    assert_eq!(buf, [0xAA, 0xBB]);
    i2c.read(0x50, &mut buf).expect("read on");
    assert_eq!(buf, [0, 0]);
    assert_eq!(i2c.write(0x10, &[0]), Err(HalError::NoAcknowledge));
    assert_eq!(i2c.write(0x51, &[0]), Err(HalError::Busy), "arbitration loss");
    assert_eq!(i2c.read(0x52, &mut buf), Err(HalError::BusError), "overrun");
    assert_eq!(i2c.write(0x80, &[0]), Err(HalError::InvalidArgument), "not 7-bit");
}

#[test]
fn spi_device_transactions() {
    let count = Rc::new(RefCell::new(0));
    let mut port = SpiPort::new(MockSpi { transactions: count.clone(), broken: false });
    let mut broken = SpiPort::new(MockSpi { transactions: count.clone(), broken: true });
    let mut hal: Registry = Registry::new();
    let id = hal.register("spi/0", &mut port).expect("slot");
    let bad = hal.register("spi/1", &mut broken).expect("slot");
    let spi = hal.spi(id).expect("spi");
    let mut read = [0u8; 3];
    spi.transfer(&mut read, &[0x0F, 0xF0]).expect("transfer");
    assert_eq!(read, [0xF0, 0x0F, 0xFF]);
    let mut buf = [1, 2];
    spi.transfer_in_place(&mut buf).expect("in place");
    assert_eq!(buf, [0xFE, 0xFD]);
    spi.write(&[1, 2, 3]).expect("write");
    assert_eq!(*count.borrow(), 3, "one chip-select transaction per call");
    assert_eq!(hal.spi(bad).and_then(|s| s.write(&[1])), Err(HalError::BusError));
}

#[test]
fn adc_driver_through_adc_port() {
    let mut port = AdcPort::new(MockAdc { calibrating: false });
    let mut busy = AdcPort::new(MockAdc { calibrating: true });
    let mut hal: Registry = Registry::new();
    hal.register("adc/0", &mut port).expect("slot");
    hal.register("adc/1", &mut busy).expect("slot");
    // Guest channels 0..=2 are adc/0, 3..=5 adc/1.
    assert_eq!(hal.hal_adc_read(0), 1000);
    assert_eq!(hal.hal_adc_read(1), 1001);
    assert_eq!(hal.hal_adc_read(2), HalError::BusError.code());
    assert_eq!(hal.hal_adc_read(3), HalError::Busy.code());
    assert_eq!(hal.hal_adc_read(6), HalError::BadChannel.code());
    let id = hal.find("adc/0").expect("registered");
    assert_eq!(hal.adc(id).and_then(|a| a.read(3)), Err(HalError::BadChannel), "checked before the driver");
    assert_eq!(hal.query(id, key::CHANNELS), Ok(Value::U32(3)));
    assert_eq!(AdcError::kind(&HalError::Timeout), HalError::Timeout);
}
