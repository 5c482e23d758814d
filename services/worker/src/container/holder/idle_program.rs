//! The holder's only program: a static Linux executable of a few dozen bytes that waits for
//! a signal, forever. Written out here rather than pulled, since hosts may have no registry,
//! and an actor's image may have nothing that idles (a `FROM scratch` image has no `sleep`).

/// Where the program is loaded.
const BASE: u64 = 0x40_0000;
/// ELF header plus one program header.
const HEADERS: u64 = 64 + 56;

/// The executable for the host's architecture; `None` where there is none written (the
/// runs of such hosts make their own network namespace, as without a holder).
pub fn for_this_host() -> Option<Vec<u8>> {
    machine_code().map(|(machine, code)| elf(machine, code))
}

/// The ELF machine number and the code: `pause()` in a loop.
fn machine_code() -> Option<(u16, &'static [u8])> {
    if cfg!(target_arch = "x86_64") {
        // mov eax, 34 (pause); syscall; jmp back to the mov.
        const CODE: [u8; 9] = [0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7];
        Some((0x3e, &CODE))
    } else {
        None
    }
}

/// A minimal ELF64 little-endian executable with one loadable segment holding `code`.
fn elf(machine: u16, code: &[u8]) -> Vec<u8> {
    let size = HEADERS + code.len() as u64;
    let mut out = Vec::with_capacity(size as usize);
    // e_ident: magic, 64-bit, little-endian, version 1, System V ABI, padding.
    out.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&2u16.to_le_bytes()); // e_type: executable
    out.extend_from_slice(&machine.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // e_version
    out.extend_from_slice(&(BASE + HEADERS).to_le_bytes()); // e_entry
    out.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    out.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    out.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    out.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    out.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    out.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    out.extend_from_slice(&[0; 6]); // no section headers
    // The program header: one loadable, readable and executable segment of the whole file.
    out.extend_from_slice(&1u32.to_le_bytes()); // p_type: PT_LOAD
    out.extend_from_slice(&5u32.to_le_bytes()); // p_flags: R + X
    out.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    out.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    out.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    out.extend_from_slice(&size.to_le_bytes()); // p_filesz
    out.extend_from_slice(&size.to_le_bytes()); // p_memsz
    out.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    out.extend_from_slice(code);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headers_say_where_the_code_is() {
        let program = elf(0x3e, &[0x90; 9]);
        assert_eq!(program.len(), 129);
        assert_eq!(&program[..4], b"\x7fELF");
        let entry = u64::from_le_bytes(program[24..32].try_into().unwrap());
        assert_eq!(entry - BASE, HEADERS);
        let filesz = u64::from_le_bytes(program[96..104].try_into().unwrap());
        assert_eq!(filesz, program.len() as u64);
    }
}
