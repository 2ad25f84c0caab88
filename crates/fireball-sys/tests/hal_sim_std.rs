//! The std-only simulators: CSV-fed ADC channels, TX and BLE frame capture
//! (into a `Vec` and as hex lines to a writer), and the wall clock.
#![cfg(feature = "std")]

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use fireball_sys::hal::sim::{
    CsvError, CsvTable, FrameLog, Signal, SimAdc, SimBle, SimClock, SimTime, SimTx, TimeSource, WallTime,
};
use fireball_sys::hal::{key, Adc, Ble, Clock, Device, HalError, Tx, Value};

/// A writer the test can read while a device holds a clone of it.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);
impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.borrow().clone()).expect("utf-8")
    }
}

/// A writer that always fails.
struct Broken;
impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("disk full"))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn csv_columns_feed_adc_channels() {
    let text = "# recorded on the bench\nch0, ch1\n100,2000\n\n101 , 2001\r\n102,2002\n";
    let table = CsvTable::parse(text).expect("valid CSV");
    assert_eq!((table.columns(), table.rows()), (2, 3));
    assert_eq!(table.column(0), Some(&[100, 101, 102][..]));
    assert_eq!(table.column(1), Some(&[2000, 2001, 2002][..]));
    assert_eq!(table.column(2), None);

    let time = SimTime::new();
    let signals = table.signals(100);
    let mut adc = SimAdc::new(&time, &signals);
    let mut got = Vec::new();
    for _ in 0..8 {
        got.push((adc.read(0).expect("ch0"), adc.read(1).expect("ch1")));
        time.advance_ms(50);
    }
    // Each row lasts 100 ms; the table repeats after the third row.
    assert_eq!(
        got,
        [(100, 2000), (100, 2000), (101, 2001), (101, 2001), (102, 2002), (102, 2002), (100, 2000), (100, 2000)]
    );
    assert_eq!(table.signal(1, 5), Some(Signal::Table { samples: &[2000, 2001, 2002], step_ms: 5 }));
}

#[test]
fn csv_one_value_per_line_from_a_file() {
    let path = std::env::temp_dir().join(format!("fireball-hal-{}.csv", std::process::id()));
    std::fs::write(&path, "512\n1024\n2048\n").expect("write temp file");
    let loaded = CsvTable::load(&path);
    let _ = std::fs::remove_file(&path);
    let table = loaded.expect("valid CSV file");
    assert_eq!(table.columns(), 1);
    let signal = table.signal(0, 10).expect("column 0");
    assert_eq!([signal.at(0), signal.at(10), signal.at(25), signal.at(30)], [512, 1024, 2048, 512]);

    let missing = CsvTable::load(std::env::temp_dir().join("fireball-hal-no-such-file.csv"));
    assert!(matches!(missing, Err(CsvError::Io(_))));
}

#[test]
fn csv_errors_name_the_line_and_column() {
    match CsvTable::parse("1,2\n3,x4\n") {
        Err(e @ CsvError::Value { line: 2, column: 2, .. }) => {
            assert_eq!(e.to_string(), "CSV line 2, column 2: \"x4\" is not an ADC code (0..=65535)")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(CsvTable::parse("1,2\n3\n"), Err(CsvError::Ragged { line: 2, expected: 2, found: 1 })));
    assert!(matches!(CsvTable::parse("70000\n"), Err(CsvError::Value { line: 1, column: 1, .. })));
    assert!(matches!(CsvTable::parse("-1\n"), Err(CsvError::Value { .. })));
    assert!(matches!(CsvTable::parse("1.5\n"), Err(CsvError::Value { .. })));
    assert!(matches!(CsvTable::parse("# nothing\n\n"), Err(CsvError::Empty)));
    assert!(matches!(CsvTable::parse("a,b\n"), Err(CsvError::Empty)), "a header alone");
    assert!(matches!(CsvTable::parse("1\nv\n"), Err(CsvError::Value { line: 2, .. })), "letters after row 1");
}

#[test]
fn tx_captures_frames_and_writes_hex_lines() {
    let time = SimTime::new();
    let out = Shared::default();
    let mut tx = SimTx::new().with_writer(out.clone()).with_time(&time).with_max_frame(8);
    tx.send(&[0x0a, 0x0b, 0xff]).expect("send");
    time.advance_ms(250);
    tx.send(&[]).expect("empty frame");
    assert_eq!(tx.send(&[0; 9]), Err(HalError::TooLong));
    tx.fail_next(HalError::Busy);
    assert_eq!(tx.send(&[1]), Err(HalError::Busy));
    assert_eq!(tx.frames(), [vec![0x0a, 0x0b, 0xff], vec![]]);
    assert_eq!(out.text(), "tx t=0 len=3 data=0a0bff\ntx t=250 len=0 data=\n");
    assert_eq!(tx.query(key::COUNT), Ok(Value::U32(2)));
    assert_eq!(tx.query(key::MAX_FRAME), Ok(Value::U32(8)));
    tx.configure(key::MAX_FRAME, Value::U32(2)).expect("max frame");
    assert_eq!(tx.max_frame(), 2);
    assert_eq!(tx.take_frames().len(), 2);
    assert!(tx.frames().is_empty());

    // Without a time source, no `t=`; a failing writer is a bus error and the frame is not kept.
    let log = FrameLog::new("radio");
    assert_eq!(log.line(&[1, 2]), "radio len=2 data=0102");
    // A frame that is a whole key-value message is decoded too.
    let mut buf = [0u8; 32];
    let mut w = fireball_sys::keyval::Writer::new(&mut buf).expect("writer");
    w.i32(1, -5).and_then(|w| w.str(2, "ok")).expect("put");
    let msg = w.finish().to_vec();
    assert!(log.line(&msg).ends_with(" kv={1: -5, 2: \"ok\"}"), "{}", log.line(&msg));
    let mut broken = SimTx::new().with_writer(Broken);
    assert_eq!(broken.send(&[1]), Err(HalError::BusError));
    assert!(broken.frames().is_empty());
}

#[test]
fn tx_writes_to_a_borrowed_buffer() {
    let mut out = Vec::new();
    {
        let mut tx = SimTx::new().with_writer(&mut out);
        tx.send(b"AB").expect("send");
    }
    assert_eq!(out, b"tx len=2 data=4142\n");
}

#[test]
fn ble_needs_init_and_captures_payloads() {
    let out = Shared::default();
    let mut ble = SimBle::new().with_writer(out.clone()).with_max_payload(4);
    assert_eq!(ble.send(b"x"), Err(HalError::NotInitialized));
    assert_eq!(ble.query(key::PROFILE), Err(HalError::NotInitialized));
    ble.init(0x01).expect("init");
    assert_eq!(ble.profile(), Some(1));
    ble.send(&[0xde, 0xad]).expect("send");
    assert_eq!(ble.send(&[0; 5]), Err(HalError::TooLong));
    assert_eq!(ble.frames(), [vec![0xde, 0xad]]);
    assert_eq!(out.text(), "ble len=2 data=dead\n");
    ble.fail_next(HalError::Timeout);
    assert_eq!(ble.init(2), Err(HalError::Timeout));
    assert_eq!(ble.send(b"x"), Err(HalError::NotInitialized), "a failed init leaves it down");
    assert_eq!(ble.max_payload(), 4);
    assert_eq!(SimBle::new().max_payload(), 244);
    assert!(ble.support_ble().is_some() && ble.support_tx().is_none());
}

#[test]
fn wall_clock_moves_forward() {
    let wall = WallTime::new();
    let mut clock = SimClock::new(&wall);
    let a = clock.now_us().expect("now");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let b = clock.now_us().expect("now");
    assert!(b >= a + 5_000, "{a} -> {b}");
    assert!(wall.now_ms() < 60_000);
}
