/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run: load a 64-bit x86 ELF executable with libelf. Every PT_LOAD
 * segment goes to guest-physical p_paddr (file bytes, then zeroes up to
 * p_memsz); the entry point must lie in one of them. The guest runs with
 * identity page tables, so a segment whose p_vaddr differs from its
 * p_paddr is reported: its code would run at the wrong addresses.
 *
 * A Linux vmlinux is loaded the same way, at its physical addresses, and
 * entered where its PVH note (Xen's PHYS32_ENTRY, which Linux's PVH
 * entry publishes) says, in 32-bit protected mode (linux.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gelf.h>
#include <libelf.h>

#include "nvmm-run.h"

#define XEN_ELFNOTE_PHYS32_ENTRY	18

/* The PVH entry point from PT_NOTE segments (libelf reads them), or 0. */
static uint64_t pvh_entry(Elf *e)
{
	size_t n, i, off, name, desc;
	uint64_t entry = 0;
	GElf_Phdr ph;
	GElf_Nhdr nh;
	Elf_Data *d;

	if (elf_getphdrnum(e, &n) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (gelf_getphdr(e, (int)i, &ph) == NULL ||
		    ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(e, (off_t)ph.p_offset, ph.p_filesz,
					 ELF_T_NHDR);
		if (d == NULL)
			continue;
		for (off = 0; (off = gelf_getnote(d, off, &nh, &name, &desc));) {
			if (nh.n_namesz == 4 &&
			    !memcmp((char *)d->d_buf + name, "Xen", 4) &&
			    nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
			    (nh.n_descsz == 4 || nh.n_descsz == 8)) {
				memcpy(&entry, (char *)d->d_buf + desc,
				       nh.n_descsz);
				return entry;
			}
		}
	}
	return 0;
}

static int load_segments(struct nr_vm *vm, Elf *e, const char *path,
			 uint64_t limit, const char *raw, size_t raw_size,
			 bool kernel)
{
	GElf_Phdr ph;
	size_t n, i;
	bool entry_ok = false;
	unsigned int nload = 0;

	if (elf_getphdrnum(e, &n) != 0) {
		nr_err("%s: %s", path, elf_errmsg(-1));
		return -1;
	}
	vm->load_end = 0;
	for (i = 0; i < n; i++) {
		if (gelf_getphdr(e, (int)i, &ph) == NULL) {
			nr_err("%s: program header %zu: %s", path, i,
			       elf_errmsg(-1));
			return -1;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz ||
		    ph.p_offset > raw_size ||
		    ph.p_filesz > raw_size - ph.p_offset) {
			nr_err("%s: segment %zu: bad sizes (file %#" PRIx64
			       " at %#" PRIx64 ", memory %#" PRIx64 ")",
			       path, i, (uint64_t)ph.p_filesz,
			       (uint64_t)ph.p_offset, (uint64_t)ph.p_memsz);
			return -1;
		}
		if (ph.p_paddr > limit || ph.p_memsz > limit - ph.p_paddr) {
			nr_err("%s: segment %zu at %#" PRIx64 "-%#" PRIx64
			       " does not fit the guest's RAM below %#" PRIx64
			       " (try a larger --mem)", path, i,
			       (uint64_t)ph.p_paddr,
			       (uint64_t)(ph.p_paddr + ph.p_memsz), limit);
			return -1;
		}
		if (ph.p_vaddr != ph.p_paddr && !kernel)
			nr_err("%s: warning: segment %zu has virtual address "
			       "%#" PRIx64 " but physical %#" PRIx64 "; the "
			       "guest runs with memory mapped one to one",
			       path, i, (uint64_t)ph.p_vaddr,
			       (uint64_t)ph.p_paddr);
		memcpy(vm->ram + ph.p_paddr, raw + ph.p_offset, ph.p_filesz);
		memset(vm->ram + ph.p_paddr + ph.p_filesz, 0,
		       ph.p_memsz - ph.p_filesz);
		if (vm->entry >= ph.p_paddr &&
		    vm->entry < ph.p_paddr + ph.p_memsz)
			entry_ok = true;
		if (ph.p_paddr + ph.p_memsz > vm->load_end)
			vm->load_end = ph.p_paddr + ph.p_memsz;
		if (vm->verbose)
			fprintf(stderr, "nvmm-run: %s: segment %zu: %#" PRIx64
				" bytes at %#" PRIx64 " (%#" PRIx64
				" from the file)\n", path, i,
				(uint64_t)ph.p_memsz, (uint64_t)ph.p_paddr,
				(uint64_t)ph.p_filesz);
		nload++;
	}
	if (nload == 0) {
		nr_err("%s: no PT_LOAD segment", path);
		return -1;
	}
	if (!entry_ok && !kernel) {
		nr_err("%s: the entry point %#" PRIx64 " is in no loaded "
		       "segment", path, vm->entry);
		return -1;
	}
	return 0;
}

static int elf_load(struct nr_vm *vm, const char *path, uint64_t limit,
		    bool kernel)
{
	GElf_Ehdr eh;
	Elf *e = NULL;
	const char *raw;
	size_t raw_size;
	int fd, ret = -1;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		nr_err("libelf: %s", elf_errmsg(-1));
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		nr_errno("%s", path);
		return -1;
	}
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e == NULL || elf_kind(e) != ELF_K_ELF) {
		nr_err("%s: not an ELF file%s%s", path, e ? "" : ": ",
		       e ? "" : elf_errmsg(-1));
		goto out;
	}
	if (gelf_getclass(e) != ELFCLASS64 || gelf_getehdr(e, &eh) == NULL ||
	    eh.e_machine != EM_X86_64) {
		nr_err("%s: not a 64-bit x86 ELF file", path);
		goto out;
	}
	if (eh.e_type != ET_EXEC) {
		nr_err("%s: not an executable (ELF type %u): link the guest "
		       "at its physical address, without -pie", path,
		       (unsigned int)eh.e_type);
		goto out;
	}
	raw = elf_rawfile(e, &raw_size);
	if (raw == NULL) {
		nr_err("%s: %s", path, elf_errmsg(-1));
		goto out;
	}
	vm->entry = eh.e_entry;
	if (kernel) {
		vm->entry = pvh_entry(e);
		if (vm->entry == 0 || vm->entry >= 0xFFFFFFFFULL) {
			nr_err("%s: an ELF file without a PVH entry point "
			       "(Xen note PHYS32_ENTRY): not a Linux vmlinux "
			       "built with CONFIG_PVH", path);
			goto out;
		}
	}
	ret = load_segments(vm, e, path, limit, raw, raw_size, kernel);
	if (ret == 0 && kernel && vm->entry >= vm->load_end) {
		nr_err("%s: the PVH entry point %#" PRIx64 " is past the "
		       "kernel", path, vm->entry);
		ret = -1;
	}
out:
	if (e != NULL)
		elf_end(e);
	close(fd);
	return ret;
}

int nr_elf_load(struct nr_vm *vm, const char *path, uint64_t limit)
{
	return elf_load(vm, path, limit, false);
}

int nr_elf_load_pvh(struct nr_vm *vm, const char *path, uint64_t limit)
{
	return elf_load(vm, path, limit, true);
}
