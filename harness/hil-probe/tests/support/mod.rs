//! Small ELF files made on the host (no embedded target is installed):
//! with or without a defmt table, with or without an RTT control block
//! symbol, as the `object` crate writes them.

#![allow(dead_code)]

use object::write::{Object, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};

/// One defmt log statement: its table index, tag and format string.
pub struct Entry {
    pub index: u64,
    pub tag: &'static str,
    pub format: &'static str,
}

fn sym(name: String, value: u64, section: SymbolSection) -> Symbol {
    Symbol {
        name: name.into_bytes(),
        value,
        size: 1,
        kind: SymbolKind::Data,
        scope: SymbolScope::Dynamic,
        weak: false,
        section,
        flags: SymbolFlags::None,
    }
}

/// A RISC-V ELF with a `.defmt` section holding `entries` (raw encoding)
/// when `defmt` is set, and `_SEGGER_RTT` at offset 0x40 of `.bss` when
/// `rtt` is set.
pub fn elf(defmt: Option<&[Entry]>, encoding: &str, rtt: bool) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::Riscv32, Endianness::Little);
    let text = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
    obj.append_section_data(text, &[0x13, 0, 0, 0], 4);
    if let Some(entries) = defmt {
        let sec = obj.add_section(Vec::new(), b".defmt".to_vec(), SectionKind::ReadOnlyData);
        obj.append_section_data(sec, &[0u8; 64], 1);
        for e in entries {
            let name = format!(
                r#"{{"package":"fw","tag":"{}","data":"{}","disambiguator":"{}","crate_name":"fw"}}"#,
                e.tag, e.format, e.index
            );
            obj.add_symbol(sym(name, e.index, SymbolSection::Section(sec)));
        }
        obj.add_symbol(sym(
            "_defmt_version_ = 4".into(),
            0,
            SymbolSection::Absolute,
        ));
        obj.add_symbol(sym(
            format!("_defmt_encoding_ = {encoding}"),
            0,
            SymbolSection::Absolute,
        ));
    }
    if rtt {
        let bss = obj.add_section(Vec::new(), b".data".to_vec(), SectionKind::Data);
        obj.append_section_data(bss, &[0u8; 256], 4);
        obj.add_symbol(sym("_SEGGER_RTT".into(), 0x40, SymbolSection::Section(bss)));
    }
    obj.write().expect("the object crate writes an ELF")
}

/// The defmt statements the tests log with.
pub const ENTRIES: &[Entry] = &[
    Entry {
        index: 1,
        tag: "defmt_info",
        format: "temperature {=u8} C",
    },
    Entry {
        index: 2,
        tag: "defmt_warn",
        format: "link down",
    },
];
