/* SPDX-License-Identifier: MIT */
/*
 * ktvm.h - the whole internal core API.
 *
 * Everything a device model, a boot loader or an architecture backend may
 * use from the generic core is declared here, so that a reader can learn the
 * shape of the VMM from one file.  Architecture code implements the arch_*
 * hooks at the bottom; generic code never tests which architecture it runs on.
 */
#ifndef KTVM_H
#define KTVM_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define KTVM_VERSION "0.1.0"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((uint64_t)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define UNUSED __attribute__((unused))

/* ------------------------------------------------------------------ */
/* Exit statuses: a user-facing contract (README, man page, --help).   */
/* ------------------------------------------------------------------ */
enum ktvm_status {
	KTVM_EXIT_OK = 0,	/* guest powered off or rebooted */
	KTVM_EXIT_ERROR = 1,	/* run-time failure (KVM error, triple fault) */
	KTVM_EXIT_USAGE = 2,	/* usage or configuration error */
	KTVM_EXIT_PANIC = 3,	/* guest kernel panicked (pvpanic) */
	KTVM_EXIT_TIMEOUT = 124 /* --timeout expired */
	/* 1..255 may also come from the guest through the test-exit port */
};

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */
enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_parse_level(const char *s, enum log_level *out);
/* Send log lines to fd instead of stderr (--log-file); the fd stays open. */
void log_set_fd(int fd);
/*
 * One line: "ktvm: [  0.123456] THREAD LEVEL: subsys: message" on stderr (or
 * the --log-file), written with one write(2): a monotonic timestamp since
 * ktvm started, the calling thread's name (ktvm, ktvm-vcpu0, ktvm-net0-q1).
 */
void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(sub, ...) log_msg(LOG_ERROR, sub, __VA_ARGS__)
#define log_warn(sub, ...) log_msg(LOG_WARN, sub, __VA_ARGS__)
#define log_info(sub, ...) log_msg(LOG_INFO, sub, __VA_ARGS__)
#define log_debug(sub, ...) log_msg(LOG_DEBUG, sub, __VA_ARGS__)
/* A hostile guest can repeat a fault forever: say it once per call site. */
#define log_once(level, sub, ...)                                          \
	do {                                                               \
		static atomic_bool said_;                                  \
		if (!atomic_exchange(&said_, true))                        \
			log_msg(level, sub, __VA_ARGS__);                  \
	} while (0)

/*
 * A line the guest can trigger at will (a fault it can repeat, a reset
 * cycle): at most LOG_RATELIMIT_BURST lines per LOG_RATELIMIT_INTERVAL_MS
 * per call site; the first line after a window in which lines were dropped
 * is preceded by one "N more suppressed" line.  Thread-safe (a small lock
 * per call site), timed by CLOCK_MONOTONIC.
 */
#define LOG_RATELIMIT_BURST	  5
#define LOG_RATELIMIT_INTERVAL_MS 1000

struct log_ratelimit {
	pthread_mutex_t lock;
	uint64_t window_start_ns; /* 0: no line yet */
	unsigned int in_window;	  /* lines let through in the current window */
	uint64_t suppressed;	  /* dropped since the last line let through */
};

#define LOG_RATELIMIT_INIT {.lock = PTHREAD_MUTEX_INITIALIZER}

void log_msg_ratelimited(struct log_ratelimit *rl, enum log_level level, const char *subsys,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_ratelimited(level, sub, ...)                                        \
	do {                                                                    \
		static struct log_ratelimit rl_ = LOG_RATELIMIT_INIT;            \
		if ((level) <= log_get_level())                                  \
			log_msg_ratelimited(&rl_, level, sub, __VA_ARGS__);      \
	} while (0)
#define log_err_rl(sub, ...)   log_ratelimited(LOG_ERROR, sub, __VA_ARGS__)
#define log_warn_rl(sub, ...)  log_ratelimited(LOG_WARN, sub, __VA_ARGS__)
#define log_info_rl(sub, ...)  log_ratelimited(LOG_INFO, sub, __VA_ARGS__)
#define log_debug_rl(sub, ...) log_ratelimited(LOG_DEBUG, sub, __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Configuration (filled by the CLI, later also by a JSON file)        */
/* ------------------------------------------------------------------ */
enum console_kind { CONSOLE_STDIO, CONSOLE_NONE, CONSOLE_FILE };

/*
 * Each device type keeps its own configuration (its CLI option, its JSON
 * key) in one slot of struct vm_config, laid out by the type alone: the core
 * never names a device (see struct ktvm_device_type below).
 */
#define KTVM_MAX_DEVICE_TYPES	   8
#define KTVM_DEVICE_CONFIG_SIZE	   1024

struct vm_device_config {
	_Alignas(16) unsigned char bytes[KTVM_DEVICE_CONFIG_SIZE];
};

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;	/* user part, appended to the defaults */
	unsigned int cpus;	/* >= 1 */
	uint64_t mem_bytes;	/* guest RAM */
	enum console_kind console;
	const char *console_path; /* CONSOLE_FILE */
	const char *console_log;  /* --console stdio,log=FILE: also copy output there */
	unsigned int timeout_s;	/* 0 = none */
	enum log_level log_level;
	const char *log_file;	/* --log-file FILE: log lines there instead of stderr */
	bool stats;		/* --stats: print the statistics (JSON) on stderr at exit */
	const char *api_sock;	/* --api-sock PATH: the control socket, NULL = none */
	const char *dump_dtb;	/* --dump-dtb FILE: write the guest's device tree (arm64) */
	int seccomp;		/* --seccomp: enum ktvm_seccomp_mode (vmm/seccomp.h), 0 = on */
	bool has_user;		/* --user UID[:GID]: drop to uid:gid after setup */
	unsigned int uid, gid;
	const char *gdb;	/* --gdb tcp:[HOST]:PORT | unix:PATH: the gdb stub, NULL = none */
	bool gdb_wait;		/* --gdb-wait: vCPUs stay stopped until gdb resumes them */
	/* Per device type, owned by the type (ktvm_device_config); all zeros = no device. */
	struct vm_device_config devices[KTVM_MAX_DEVICE_TYPES];
};

#define KTVM_MAX_CPUS 255
#define KTVM_DEFAULT_MEM MiB(512)
#define KTVM_MIN_MEM MiB(32)

/*
 * Parse "ktvm run" options.  Returns 0 and fills cfg, or returns
 * KTVM_EXIT_USAGE after printing one clear line to err; returns -1 when
 * --help was printed to out (caller exits 0).
 */
int config_parse_run(int argc, char **argv, struct vm_config *cfg, FILE *out, FILE *err);
/* The same; need_kernel false for 'ktvm config --print'.  --config FILE is read first. */
int config_parse_args(int argc, char **argv, struct vm_config *cfg, bool need_kernel, FILE *out,
		      FILE *err);
/* --console's value (stdio, stdio,log=FILE, none, file:PATH) into cfg: 0 or -1. */
int config_parse_console(const char *s, struct vm_config *cfg);
/* "512M", "2G", "1024" (MiB).  Returns 0 or -1. */
int parse_mem_size(const char *s, uint64_t *bytes);
void config_print_run_help(FILE *out);

/* ------------------------------------------------------------------ */
/* Guest memory                                                        */
/* ------------------------------------------------------------------ */
#define GUEST_MEM_MAX_REGIONS 4

struct mem_region {
	uint64_t gpa;	/* guest-physical start */
	uint64_t size;	/* bytes */
	uint8_t *hva;	/* host address of gpa */
};

struct guest_mem {
	uint8_t *base;	/* the one anonymous mapping */
	uint64_t size;	/* its size: total guest RAM */
	unsigned int nregions;
	struct mem_region regions[GUEST_MEM_MAX_REGIONS];
};

/*
 * The one checked accessor: a host pointer to [gpa, gpa + len) if that whole
 * range lies inside one RAM region, NULL otherwise.  Overflow-safe for any
 * gpa and len a guest can produce.  Every host access to guest memory goes
 * through this (or the helpers below, which use it).
 */
void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
int gmem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);
int gmem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);
/*
 * Zero [gpa, gpa + len) of guest RAM (anonymous memory): whole
 * pages are dropped (MADV_DONTNEED: zero when next touched, nothing to
 * allocate or clear now), the partial ones at the ends written.
 */
int gmem_zero(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* Map 'size' bytes and split them into regions at the given layout. */
int gmem_init(struct guest_mem *m, uint64_t size, const struct mem_region *layout, unsigned int n);
void gmem_destroy(struct guest_mem *m);

/* ------------------------------------------------------------------ */
/* I/O buses: one trap table for port I/O and one for MMIO             */
/* ------------------------------------------------------------------ */
/*
 * A handler services [base, base + len).  'offset' is relative to base,
 * 'data' holds 'size' (1, 2, 4 or 8) little-endian bytes: filled by the
 * handler on a read, consumed on a write.  Handlers run on vCPU threads,
 * concurrently: a device protects its own state.
 */
typedef void (*io_handler_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
			      bool is_write);

struct io_range {
	uint64_t base, len;
	io_handler_fn fn;
	void *opaque;
	const char *name;
};

#define IO_BUS_MAX_RANGES 64

struct io_bus {
	const char *name;
	pthread_rwlock_t lock;
	unsigned int n;
	struct io_range ranges[IO_BUS_MAX_RANGES]; /* sorted by base, disjoint */
};

void io_bus_init(struct io_bus *bus, const char *name);
/* Returns 0, or -1 if the range overlaps another or the table is full. */
int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len, io_handler_fn fn,
		    void *opaque, const char *name);
int io_bus_unregister(struct io_bus *bus, uint64_t base);
/* Dispatch; returns false if nothing is there (reads then see all-ones). */
bool io_bus_access(struct io_bus *bus, uint64_t addr, uint8_t *data, uint32_t size, bool is_write);

/* Little-endian helpers for handlers. */
static inline uint64_t io_get(const uint8_t *data, uint32_t size)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < size && i < 8; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

static inline void io_put(uint8_t *data, uint32_t size, uint64_t v)
{
	for (uint32_t i = 0; i < size && i < 8; i++)
		data[i] = (uint8_t)(v >> (8 * i));
}

/* ------------------------------------------------------------------ */
/* The console: where the guest's serial output goes, where input comes */
/* ------------------------------------------------------------------ */
struct console;
/*
 * Write guest output; never blocks.  What does not fit in the console's
 * buffer (the sink is not draining) is dropped and counted.
 */
void console_write(struct console *c, const uint8_t *buf, size_t len);
/*
 * Is there room for output now?  A UART reports "transmitter busy" while
 * not; the console then calls the tx-ready callback (on the main thread,
 * with no console lock held) once there is room again.
 */
bool console_tx_room(struct console *c);
typedef void (*console_tx_ready_fn)(void *opaque);
void console_set_tx_ready(struct console *c, console_tx_ready_fn fn, void *opaque);
/* A device that accepts input registers itself as the receiver. */
typedef void (*console_input_fn)(void *opaque, const uint8_t *buf, size_t len);
void console_set_input(struct console *c, console_input_fn fn, void *opaque);
/* The device that can signal a line break (Ctrl-A b) registers it here. */
typedef void (*console_break_fn)(void *opaque);
void console_set_break(struct console *c, console_break_fn fn, void *opaque);

/* ------------------------------------------------------------------ */
/* The VM and its vCPUs                                                */
/* ------------------------------------------------------------------ */
struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	void *arch; /* arch_vcpu_* private state */
};

struct arch_vm; /* private to arch/ */

/*
 * A device type (vmm/device.c): declared once, in its own file, with
 * KTVM_DEVICE_TYPE(); the CLI, the JSON configuration, the machine setup,
 * the statistics and the VM's teardown loop over every declared type and
 * never name one.  Any hook may be NULL.
 */
struct json_object;
struct config_json_ctx;

struct ktvm_device_type {
	const char *name; /* "virtio-net" */

	/* 'ktvm run --OPTION SPEC', repeatable; NULL: no option. */
	const char *option;
	/* Its lines of 'ktvm run --help' (after --api-sock's). */
	void (*print_help)(FILE *out);
	/* The first --OPTION on the command line: the configuration file's devices go. */
	void (*cli_reset)(struct vm_config *cfg);
	/* One --OPTION SPEC into cfg: 0, or KTVM_EXIT_USAGE after one line on err. */
	int (*cli_parse)(struct vm_config *cfg, const char *spec, FILE *err);
	/* After all options: across devices (duplicates, open fds): 0 or KTVM_EXIT_USAGE. */
	int (*check)(const struct vm_config *cfg, FILE *err);
	/* After the core's own output files are checked: the type's (pcap=FILE). */
	int (*check_outputs)(const struct vm_config *cfg, FILE *err);

	/* Its top-level key in the JSON configuration; NULL: none. */
	const char *json_key;
	/* The key's value into cfg: 0, or KTVM_EXIT_USAGE after config_json_bad(). */
	int (*json_load)(struct config_json_ctx *c, const char *key, struct json_object *v,
			 struct vm_config *cfg);
	/* 'ktvm config --print': add the key to root. */
	void (*json_print)(const struct vm_config *cfg, struct json_object *root);

	/* arch_vm_init, after the platform and its bus: every device of this type in vm->cfg. */
	int (*create)(struct vm *vm);
	/* The statistics: add the type's part to root (a json-c object). */
	void (*stats_json)(struct vm *vm, struct json_object *root);
	/* One device: ktvm is stopping (vCPUs joined, guest memory still mapped): its threads. */
	void (*stop)(void *dev);
	/* One device: free it, its transport and its backend (after every device stopped). */
	void (*destroy)(void *dev);
};

/*
 * Declare a device type: a pointer to it in the "ktvm_devices" linker
 * section, which the linker's __start_/__stop_ symbols bound (solo5's
 * DECLARE_MODULE).  A section, not a constructor: no code runs before main
 * and the table is read-only.  Either way an object that nothing else
 * references would be dropped from a static archive: the fuzzers link
 * libktvm.a, so the Makefile asks the linker for every ktvm_device_NAME
 * (-Wl,--undefined), and the objects linked directly (ktvm, the unit tests)
 * keep every section.  Pointers, not the structs, in the section: no padding
 * between entries (ASan pads instrumented globals).
 */
#define KTVM_DEVICE_TYPE(id, ...)                                                       \
	const struct ktvm_device_type ktvm_device_##id = {__VA_ARGS__};                 \
	static const struct ktvm_device_type *const ktvm_device_ptr_##id                \
		__attribute__((section("ktvm_devices"), used)) = &ktvm_device_##id

/* The declared types, in link order; NULL after the last. */
const struct ktvm_device_type *ktvm_device_type_next(const struct ktvm_device_type *prev);
#define ktvm_for_each_device_type(t)                                                    \
	for (const struct ktvm_device_type *t = ktvm_device_type_next(NULL); t;          \
	     t = ktvm_device_type_next(t))
/* The type's slot of cfg->devices (at most KTVM_DEVICE_CONFIG_SIZE bytes, zeroed by default). */
void *ktvm_device_config(struct vm_config *cfg, const struct ktvm_device_type *t);
const void *ktvm_device_config_c(const struct vm_config *cfg, const struct ktvm_device_type *t);

/* A device instance of a VM: its type and its state. */
struct vm_device {
	const struct ktvm_device_type *type;
	void *dev;
};

struct vm {
	const struct vm_config *cfg;
	int kvm_fd, vm_fd;
	struct guest_mem mem;
	struct io_bus pio, mmio;
	unsigned int ncpus;
	struct vcpu *vcpus;
	struct console *console;
	struct arch_vm *arch;
	int loop_fd; /* epoll of the main thread's event loop */
	struct loop_table *loop_table;
	struct vm_irq_routes *irq;
	struct vm_pause *pause; /* vmm/pause.h: parking all vCPUs (gdb, control socket) */
	struct gdb_stub *gdb;	/* vmm/gdb.h: the --gdb stub, NULL = none */
	struct vm_device *devices; /* vmm/device.c: in creation order, filled during setup */
	unsigned int ndevices, devices_cap;

	/* First stop request wins; see vm_request_stop(). */
	atomic_int stop_status; /* -1 while running */
	int stop_eventfd;	/* written once when a stop is requested */
	char stop_reason[128];
};

/* Ask the VM to stop with 'status'; the first call wins, later ones are ignored. */
void vm_request_stop(struct vm *vm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline bool vm_stopping(struct vm *vm)
{
	return atomic_load(&vm->stop_status) >= 0;
}

/*
 * Add a device to the VM (setup only, main thread): vm_destroy() stops and
 * frees it.  0, or -1 (out of memory: the caller still owns dev).
 */
int vm_device_add(struct vm *vm, const struct ktvm_device_type *type, void *dev);
/* fn on every device of that type (NULL: every device), in creation order. */
void vm_device_for_each(struct vm *vm, const struct ktvm_device_type *type,
			void (*fn)(void *dev, void *opaque), void *opaque);
/* arch_vm_init's last step: every declared type creates its devices.  0 or -1. */
int vm_devices_create(struct vm *vm);

/* Assert (level=1) or deassert (level=0) a GSI of the in-kernel irqchip. */
int vm_irq_line(struct vm *vm, uint32_t gsi, int level);

/*
 * Interrupt routing (vmm/irq.c).  KVM_SET_GSI_ROUTING replaces the whole
 * table, so the core keeps it: the irqchip's default pin routes (from the
 * arch) plus the MSI routes devices add.  Device threads raise interrupts by
 * writing an eventfd bound to a GSI with vm_irqfd(): no ioctl on the data path.
 */
#define VM_GSI_NONE UINT32_MAX
uint32_t vm_gsi_alloc(struct vm *vm);		/* a GSI for an MSI route, or VM_GSI_NONE */
int vm_msi_route_set(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data);
int vm_msi_route_clear(struct vm *vm, uint32_t gsi);
/* Bind (assign=true) or unbind eventfd 'fd' to 'gsi'; resample_fd >= 0 for level INTx. */
int vm_irqfd(struct vm *vm, int fd, uint32_t gsi, int resample_fd, bool assign);
/* Inject one MSI directly (used when a masked MSI-X vector is unmasked with its PBA bit set). */
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data);
/* KVM ioeventfd on [addr, addr+len) of the PIO or MMIO space; datamatch when has_match. */
int vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, uint32_t len, int fd, bool has_match,
		 uint64_t match, bool assign);

/*
 * The main thread's event loop: any thread may add or delete an fd; 'cb'
 * runs on the main thread when the fd is readable.  The handle is what
 * vm_loop_del takes; it stays valid (and reusable) until the VM ends.
 * A callback must tolerate a spurious call (see vmm/loop.c).
 */
typedef void (*loop_cb_fn)(void *opaque);
struct loop_handler;
struct loop_handler *vm_loop_add(struct vm *vm, int fd, loop_cb_fn cb, void *opaque);
void vm_loop_del(struct vm *vm, struct loop_handler *h);
/* Register a guest-physical RAM slot with KVM. */
int vm_set_memory_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva);
/* KVM_CHECK_EXTENSION on the VM fd, falling back to /dev/kvm. */
int vm_check_extension(struct vm *vm, long cap);

/* The whole life of a VM from a parsed configuration: returns the exit status. */
int vm_run(const struct vm_config *cfg);

/* ------------------------------------------------------------------ */
/* Architecture hooks: implemented once per folder under arch/          */
/* ------------------------------------------------------------------ */
/* Guest RAM layout for 'size' bytes (holes, PCI window): fills out[], returns count. */
unsigned int arch_mem_layout(uint64_t size, struct mem_region *out, unsigned int max);
/* After KVM_CREATE_VM and memory: irqchip, timers, platform devices, firmware tables. */
int arch_vm_init(struct vm *vm);
/* Can this KVM run an unmodified guest?  0, or -1 after logging one clear line. */
int arch_check_kvm(struct vm *vm);
/* Load kernel/initrd/cmdline per the configuration into guest memory. */
int arch_load_kernel(struct vm *vm);
/* Per-vCPU setup after KVM_CREATE_VCPU, before the thread starts. */
int arch_vcpu_init(struct vcpu *v);
/*
 * An exit the generic loop does not handle (it handles I/O, MMIO, INTR).
 * Return 0 to go on running, or 1 when the vCPU must stop (after calling
 * vm_request_stop()).
 */
int arch_vcpu_exit(struct vcpu *v);
/* Registers for the error path, and the one-line "where" for timeouts. */
void arch_vcpu_dump(struct vcpu *v, FILE *out);
void arch_vcpu_where(struct vcpu *v, char *buf, size_t len);
/* The console and machine arguments ktvm always puts first on the command line. */
const char *arch_default_cmdline(void);
/* The irqchip pin routes KVM sets up by default (kept in every KVM_SET_GSI_ROUTING). */
unsigned int arch_default_gsi_routes(void *entries, unsigned int max);
/* What KVM_IRQ_LINE calls a GSI (x86: the GSI itself; arm64: an encoded SPI). */
uint32_t arch_irq_line_number(uint32_t gsi);
void arch_vm_destroy(struct vm *vm);

#endif /* KTVM_H */
