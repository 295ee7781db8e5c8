#!/usr/bin/env python3
"""Write the seed corpus under tests/fuzz/corpus/TARGET/: small valid inputs
(a driver bringing a queue up, a frame to send, a bzImage, a command line...)
from which the fuzzers start.  Run again after changing an input format."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


class Ram:
    def __init__(self, size):
        self.b = bytearray(size)

    def w(self, off, data):
        self.b[off:off + len(data)] = data

    def desc(self, table, i, addr, length, flags, nxt):
        self.w(table + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def avail(self, ring, heads, flags=0):
        self.w(ring, struct.pack("<HH", flags, len(heads)))
        for i, h in enumerate(heads):
            self.w(ring + 4 + 2 * i, struct.pack("<H", h))

    def trimmed(self):
        return bytes(self.b).rstrip(b"\0")


NEXT, WRITE, INDIRECT = 1, 2, 4

# ---- virtq: header | nops | ops | RAM --------------------------------------
def virtq_seed(flags, log2size, ram, ops):
    hdr = bytes([flags, log2size])
    for gpa in (0x0000, 0x1000, 0x2000):  # desc, avail, used in region 0
        hdr += bytes([0]) + struct.pack("<H", gpa)
    body = bytes([len(ops)]) + b"".join(bytes([o, a]) + struct.pack("<H", v) for o, a, v in ops)
    return hdr + body + ram.trimmed()


r = Ram(0x5000)
r.desc(0, 0, 0x3000, 12, NEXT, 1)
r.desc(0, 1, 0x3100, 100, WRITE, 0)
r.desc(0, 2, 0x3400, 32, INDIRECT, 0)
r.desc(0x3400, 0, 0x3200, 64, NEXT, 1)
r.desc(0x3400, 1, 0x3300, 64, WRITE, 0)
r.avail(0x1000, [0, 2])
ops = [(0, 0, 0), (3, 0, 50), (5, 0, 0), (6, 0, 0), (0, 0, 0), (4, 1, 0), (0, 0, 0),
       (3, 0, 64), (5, 0, 0), (9, 0, 0), (7, 0, 0), (10, 2, 0x1002), (0, 0, 0), (8, 0, 0)]
put("virtq", "two-chains-indirect", virtq_seed(3, 4, r, ops))
put("virtq", "no-event-idx", virtq_seed(2, 4, r, ops))
r2 = Ram(0x5000)
for i in range(8):  # one long chain
    r2.desc(0, i, 0x3000 + 0x40 * i, 0x40, (NEXT if i < 7 else 0) | (WRITE if i >= 4 else 0), i + 1)
r2.avail(0x1000, [0])
put("virtq", "long-chain", virtq_seed(1, 3, r2, [(0, 0, 0), (3, 0, 256), (5, 0, 0), (6, 0, 0),
                                                  (11, 3, 0), (0, 0, 0)]))

# ---- virtio-net: features | 5 queue sizes | ops (net.inc) ------------------
F = lambda *bits: sum(1 << b for b in bits)
CSUM, GUEST_CSUM, MTU, MAC, GUEST_TSO4, HOST_TSO4, MRG, STATUS = 0, 1, 3, 5, 7, 11, 15, 16
CTRL_VQ, CTRL_RX, MQ, CTRL_GUEST_OFFLOADS, CTRL_MAC_ADDR = 17, 18, 22, 2, 23
INDIRECT_DESC, EVENT_IDX, VERSION_1 = 28, 29, 32
HDR = 12
u16 = lambda v: struct.pack("<H", v)


def net_seed(features, ops, log2=(4, 4, 4, 4, 5)):
    return struct.pack("<Q", features) + bytes(log2) + b"".join(ops)


# Op kinds are indices into each target's NET_KINDS (fuzz_net_*.c).
TX = dict(post=0, run=2, read=3, hostile=4)
RX = dict(post=0, send=2, run=4, kick=5, hostile=6)
CT = dict(post=0, run=2, post_tx=3, post_rx=4, run_tx=5, run_rx=6, send=7, read=8, kick=9,
          cfg=10, hostile=11)


def post_data(kind, pair, a, lens, contents=b""):
    return bytes([kind, pair, a]) + b"".join(u16(l) for l in lens) + contents


def send(kind, pair, frame):
    return bytes([kind, pair]) + u16(len(frame)) + frame


def post_ctrl(kind, cmd, a=0x0a):  # a=0x0a: one readable buffer, status buffers of 1 and 0 bytes
    return bytes([kind, 0, a, len(cmd) - 2, 1]) + cmd


frame = bytes(range(6)) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + bytes(46)
base = F(VERSION_1, MAC, STATUS, CSUM, GUEST_CSUM, EVENT_IDX, INDIRECT_DESC)

tx_ops = [post_data(TX["post"], 0, 1, [HDR, len(frame)], bytes(HDR) + frame),  # header, frame apart
          post_data(TX["post"], 0, 0, [HDR + len(frame)], bytes(HDR) + frame),  # one buffer
          post_data(TX["post"], 0, 0, [4], bytes(4)),  # shorter than the header
          post_data(TX["post"], 0, 0x81, [HDR, len(frame)], bytes(HDR) + frame),  # indirect
          bytes([TX["run"], 0]), bytes([TX["read"], 0])]
put("net_tx", "three-frames", net_seed(base, tx_ops))
put("net_tx", "mrg", net_seed(base | F(MRG, HOST_TSO4), tx_ops))
put("net_tx", "hostile", net_seed(base, tx_ops[:2] + [bytes([TX["hostile"], 1, 8])] + tx_ops[2:]))

rx_ops = [post_data(RX["post"], 0, 0, [0x600]) for _ in range(4)] + \
    [send(RX["send"], 0, bytes(HDR) + frame), send(RX["send"], 0, bytes(HDR) + frame * 3),
     bytes([RX["run"], 0])]
put("net_rx", "two-frames", net_seed(base, rx_ops))
put("net_rx", "mrg", net_seed(base | F(MRG), [post_data(RX["post"], 0, 1, [40, 60])
                                                 for _ in range(8)] + rx_ops[4:]))
put("net_rx", "oversize", net_seed(base, rx_ops[:4] + [bytes([RX["send"], 0]) + u16(0xffff),
                                                       bytes([RX["run"], 0])]))

ctrl = base | F(CTRL_VQ, CTRL_RX, MQ, CTRL_GUEST_OFFLOADS, CTRL_MAC_ADDR, GUEST_TSO4)
cmds = [bytes([4, 0]) + struct.pack("<H", 2),  # MQ VQ_PAIRS_SET 2
        bytes([0, 0, 1]),  # RX PROMISC on
        bytes([0, 1, 0]),  # RX ALLMULTI off
        bytes([1, 0]) + struct.pack("<I", 1) + bytes(6) + struct.pack("<I", 0),  # MAC_TABLE_SET
        bytes([1, 1, 2, 0, 0, 0, 0, 7]),  # MAC_ADDR_SET
        bytes([5, 0]) + struct.pack("<Q", F(GUEST_CSUM)),  # GUEST_OFFLOADS_SET
        bytes([3, 0]),  # ANNOUNCE ACK
        bytes([9, 9])]  # unknown
ct_ops = [post_ctrl(CT["post"], c) for c in cmds] + [bytes([CT["run"], 0])] + \
    [post_data(CT["post_tx"], 1, 0, [HDR + len(frame)], bytes(HDR) + frame),
     bytes([CT["run_tx"], 1]), bytes([CT["read"], 1]), bytes([CT["cfg"], 0, 20]),
     post_ctrl(CT["post"], bytes([4, 0]) + struct.pack("<H", 1)), bytes([CT["run"], 0])]
put("net_ctrl", "commands", net_seed(ctrl, ct_ops))
put("net_ctrl", "no-mq", net_seed(ctrl & ~F(MQ), ct_ops))

# ---- virtio-pci / pci config: RAM length/64 | RAM | ops --------------------
def op(kind, size, write, off, val=0):
    return bytes([kind, ({1: 0, 2: 1, 4: 2, 8: 3}[size] << 1) | int(write)]) + \
        struct.pack("<HI", off, val & 0xffffffff)


ACK, DRV, FOK, DOK = 1, 2, 8, 4
COMMON = dict(dfsel=0, df=4, gfsel=8, gf=12, msix=16, nq=18, status=20, gen=21, qsel=22,
              qsize=24, qmsix=26, qen=28, qnoff=30, qdesc=32, qavail=40, qused=48)


def cw(field, size, val):
    return op(0, size, True, COMMON[field], val)


def cr(field, size):
    return op(0, size, False, COMMON[field])


init = b"".join([
    cw("status", 1, 0), cw("status", 1, ACK), cw("status", 1, ACK | DRV),
    cw("dfsel", 4, 0), cr("df", 4), cw("dfsel", 4, 1), cr("df", 4),
    cw("gfsel", 4, 0), cw("gf", 4, 1 << 29), cw("gfsel", 4, 1), cw("gf", 4, 1),
    cw("status", 1, ACK | DRV | FOK), cr("status", 1), cr("nq", 2),
    cw("msix", 2, 0), cr("msix", 2),
    cw("qsel", 2, 0), cr("qsize", 2), cw("qsize", 2, 16), cw("qmsix", 2, 1), cr("qmsix", 2),
    cw("qdesc", 4, 0x0000), cw("qavail", 4, 0x1000),
    cw("qused", 4, 0x2000), cw("qen", 2, 1), cr("qnoff", 2),
    cw("status", 1, ACK | DRV | FOK | DOK), cr("gen", 1),
    op(6, 2, True, 0), op(6, 4, True, 4), op(4, 1, False, 0),
    op(5, 4, False, 0), op(5, 2, True, 2, 0x1234), op(5, 8, False, 0),
    op(7, 4, True, 0, 0xfee00000), op(7, 4, True, 4, 0), op(7, 4, True, 8, 0x4041),
    op(7, 4, True, 12, 0), op(7, 4, False, 12), op(8, 8, False, 0),
    op(9, 4, False, 0x1000),
])
ram = bytes([0x40]) + bytes(0x40 * 64)
put("virtio_pci", "driver-init", ram + init)
put("virtio_pci", "reset-again", ram + init + cw("status", 1, 0) + init)

cfg = b"".join([op(10, 4, False, r) for r in range(0, 0x100, 4)])
cfg += op(10, 4, True, 0x10, 0xffffffff) + op(10, 4, False, 0x10) + \
    op(10, 4, True, 0x14, 0xffffffff) + op(10, 4, False, 0x14) + \
    op(10, 4, True, 0x10, 0xd0000000) + op(10, 4, True, 0x14, 0x10) + \
    op(10, 2, True, 0x04, 0x0006) + op(14, 4, False, 0)
cfg += b"".join(op(10, 2, True, r, 0xc000) for r in range(0x40, 0xa0, 4))  # MSI-X enable+mask
cfg += b"".join(op(10, 4, True, r, 0x4000) for r in range(0x40, 0xa0, 4))  # cfg window offsets
cfg += op(12, 4, True, 0, 0x80000800) + op(13, 4, False, 4) + op(13, 2, True, 8, 0x0407) + \
    op(12, 4, True, 0, 0x80000000) + op(13, 4, False, 4) + op(15, 4, False, 0, 0x10000)
put("pci_cfg", "walk", bytes([0]) + cfg)
put("virtio_pci", "config-space", bytes([0]) + cfg)

# ---- boot: a bzImage and a PVH ELF ----------------------------------------
def bzimage(pm_size=4096):
    setup_sects = 4
    img = bytearray((setup_sects + 1) * 512 + pm_size)
    img[0x1f1] = setup_sects
    struct.pack_into("<H", img, 0x1fe, 0xaa55)
    struct.pack_into("<H", img, 0x200, 0x66eb)
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, 0x020f)
    img[0x211] = 1  # LOADED_HIGH
    struct.pack_into("<I", img, 0x22c, 0x7fffffff)  # initrd_addr_max
    struct.pack_into("<I", img, 0x230, 0x200000)  # kernel_alignment
    img[0x234] = 1  # relocatable
    struct.pack_into("<H", img, 0x236, 3)  # XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G
    struct.pack_into("<I", img, 0x238, 2047)  # cmdline_size
    struct.pack_into("<Q", img, 0x258, 0x1000000)  # pref_address
    struct.pack_into("<I", img, 0x260, 0x800000)  # init_size
    for i in range(pm_size):
        img[(setup_sects + 1) * 512 + i] = (i * 13 + 5) & 0xff
    return bytes(img)


def pvh_elf(note_type=18):
    data_off, filesz, memsz, paddr = 0x1000, 0x1000, 0x3000, 0x1000000
    ehdr = bytearray(64)
    ehdr[0:4] = b"\x7fELF"
    ehdr[4], ehdr[5], ehdr[6] = 2, 1, 1
    struct.pack_into("<HHIQQQIHHHHHH", ehdr, 16, 2, 62, 1, 0xffffffff81000000, 64, 0, 0,
                     64, 56, 2, 0, 0, 0)
    note = struct.pack("<III", 4, 4, note_type) + b"Xen\0" + struct.pack("<I", paddr)
    note_off = 64 + 2 * 56
    ph = struct.pack("<IIQQQQQQ", 1, 7, data_off, 0xffffffff81000000, paddr, filesz, memsz,
                     0x200000)
    ph += struct.pack("<IIQQQQQQ", 4, 4, note_off, 0, 0, len(note), len(note), 4)
    img = bytearray(data_off + filesz)
    img[0:64] = ehdr
    img[64:64 + len(ph)] = ph
    img[note_off:note_off + len(note)] = note
    return bytes(img)


put("boot", "bzimage", bzimage())
put("boot", "bzimage-initrd", bzimage(4097)[:-1] + b"\x01")
put("boot", "pvh-elf", pvh_elf())
put("boot", "pvh-elf-initrd", pvh_elf() + b"\x01")
put("boot", "elf-no-pvh", pvh_elf(17))

# ---- cli: arguments separated by NUL --------------------------------------
for name, args in [
        ("minimal", ["--kernel", "/dev/null"]),
        ("full", ["-k", "/dev/null", "-i", "/dev/null", "-a", "quiet", "-c", "4", "-m", "2G",
                  "--console", "none", "--timeout", "30", "--log-level", "info"]),
        ("nets", ["--kernel", "/dev/null", "--net", "tap=tap0,mac=02:00:00:00:00:02,mtu=9000",
                  "--net", "tap=tap1,queue_pairs=4,msix=off"]),
        ("fd", ["--kernel=/dev/null", "--net", "fd=0", "--memory", "512M"]),
        ("help", ["--help"]),
        ("bad", ["--cpus", "0", "-k"])]:
    put("cli", name, b"\0".join(a.encode() for a in args))

# ---- config_json ----------------------------------------------------------
put("config_json", "full", b'''{
  "kernel": "bzImage", "initrd": "initrd.cpio.gz", "cmdline": "quiet",
  "cpus": 4, "memory": "2G", "console": "stdio", "timeout": 60, "log_level": "warn",
  "nets": [ { "tap": "tap0", "mac": "02:00:00:00:00:01", "queue_pairs": 4,
              "mtu": 1500, "msix": true },
            { "fd": 3, "mac": [2, 0, 0, 0, 0, 2], "msix": false } ]
}
''')
put("config_json", "minimal", b'{"kernel": "vmlinux", "memory": 1024}\n')
put("config_json", "empty", b"{}")
put("config_json", "wrong-type", b'{"cpus": "four", "nets": [{"tap": 1}]}')

# ---- virtio_mmio: RAM length/64 | RAM | ops (kind, size/dir, offset, value) --
MMIO = dict(magic=0x000, version=0x004, devid=0x008, vendor=0x00c, df=0x010, dfsel=0x014,
            gf=0x020, gfsel=0x024, qsel=0x030, qnummax=0x034, qnum=0x038, qready=0x044,
            qnotify=0x050, isr=0x060, iack=0x064, status=0x070, qdesc=0x080, qdesch=0x084,
            qavail=0x090, qavailh=0x094, qused=0x0a0, qusedh=0x0a4, shmsel=0x0ac,
            shmlen=0x0b0, gen=0x0fc)


def mw(reg, val):
    return op(0, 4, True, MMIO[reg], val)


def mr(reg):
    return op(0, 4, False, MMIO[reg])


mmio_init = b"".join([
    mr("magic"), mr("version"), mr("devid"), mr("vendor"),
    mw("status", 0), mw("status", ACK), mw("status", ACK | DRV),
    mw("dfsel", 0), mr("df"), mw("dfsel", 1), mr("df"),
    mw("gfsel", 0), mw("gf", 1 << 29), mw("gfsel", 1), mw("gf", 1),
    mw("status", ACK | DRV | FOK), mr("status"),
    mw("qsel", 0), mr("qnummax"), mw("qnum", 16), mw("qdesc", 0x0000), mw("qdesch", 0),
    mw("qavail", 0x1000), mw("qavailh", 0), mw("qused", 0x2000), mw("qusedh", 0),
    mw("qready", 1), mr("qready"),
    mw("qsel", 1), mw("qnum", 8), mw("qdesc", 0x3000), mw("qavail", 0x3800),
    mw("qused", 0x3c00), mw("qready", 1),
    mw("status", ACK | DRV | FOK | DOK), mr("gen"), mw("shmsel", 0), mr("shmlen"),
    mw("qnotify", 0), mw("qnotify", 7),
    op(8, 4, False, 0, 0), op(8, 4, False, 0, 1), mr("isr"), mw("iack", 3), mr("isr"),
    op(6, 1, False, 0), op(6, 2, True, 2, 0x1234), op(6, 4, False, 4), op(6, 8, False, 0),
    op(6, 4, False, 10), op(5, 2, False, 0x70), op(5, 4, True, 0x71, 1),
])
put("virtio_mmio", "driver-init", bytes([0x40]) + bytes(0x40 * 64) + mmio_init)
put("virtio_mmio", "reset-again",
    bytes([0x40]) + bytes(0x40 * 64) + mmio_init + mw("status", 0) + mmio_init)
put("virtio_mmio", "early-queue",
    bytes([0]) + mw("qsel", 2) + mw("qnum", 4) + op(9, 4, True, 2, 0) + mw("qsel", 9) +
    mr("qnummax") + mw("status", ACK | DRV | FOK) + op(9, 4, True, 0x0101, 0) + mr("qready"))

# ---- arm64_image: guest selector | Image (or Image.gz) ---------------------
def arm64_image(size=8192, text_offset=0, image_size=0x10000, flags=(1 << 3) | (1 << 1)):
    img = bytearray((i * 7 + 3) & 0xff for i in range(size))
    struct.pack_into("<IIQQQQQQ", img, 0, 0x14000000 | 0x10, 0, text_offset, image_size,
                     flags, 0, 0, 0)
    img[0x38:0x3c] = b"ARM\x64"
    struct.pack_into("<I", img, 0x3c, 0)
    return bytes(img)


def gz(data):
    import gzip
    return gzip.compress(data, mtime=0)


put("arm64_image", "image", bytes([3]) + arm64_image())
put("arm64_image", "image-initrd", bytes([3 | 8]) + arm64_image())
put("arm64_image", "image-text-offset", bytes([7 | 8]) + arm64_image(text_offset=0x80000,
                                                                      image_size=0x200000))
put("arm64_image", "image-gz", bytes([3 | 8]) + gz(arm64_image()))
put("arm64_image", "too-big", bytes([0]) + arm64_image(image_size=0x400000))
put("arm64_image", "misaligned-ram", bytes([16 | 3]) + arm64_image())
# No bss, ending exactly at the end of its 2 MiB of RAM (a fixed bug: memset(NULL, 0, 0)).
put("arm64_image", "fills-ram-gz", bytes([0]) + gz(arm64_image(size=0x200000, image_size=0x200000)))

# ---- serial: ops of (kind, arg, value); kinds 0-2 write reg arg%8, 3-5 read,
# 6 type arg%33 bytes, 7 break, 8 console (arg odd: drain, even: fill), 9 wide
def sw(reg, val):
    return bytes([0, reg, val])


def sr(reg):
    return bytes([3, reg, 0])


serial_init = b"".join([
    sw(3, 0x80), sw(0, 0x0c), sw(1, 0x00), sw(3, 0x03), sr(0), sr(1), sw(3, 0x03),
    sw(2, 0xc7), sr(2), sw(4, 0x0b), sw(1, 0x0f), sr(2), sr(5), sr(6),
])
put("serial", "linux-init", serial_init + b"".join(sw(0, c) for c in b"hello\r\n") +
    sr(2) + sr(5))
put("serial", "rx-fifo", serial_init + bytes([6, 20, 0x41]) + sr(5) + sr(2) +
    b"".join(sr(0) for _ in range(20)) + sr(5) + bytes([6, 32, 0x30]) * 3 + sr(2))
put("serial", "loopback", serial_init + sw(4, 0x1f) + sr(6) +
    b"".join(sw(0, c) for c in range(20)) + sr(5) + sr(0) + sw(4, 0x0b) + sr(6) + sr(5))
put("serial", "console-full", serial_init + bytes([8, 0, 255]) + sr(5) + sr(2) + sw(0, 0x41) +
    bytes([8, 1, 0]) + sr(2) + sr(5) + sw(0, 0x42) + bytes([7, 0, 0]) + sr(2) + sr(5) +
    bytes([9, 0, 1]))

# ---- cmos_rtc: MiB below 4G / 16 - 1, GiB above | ops (kind, value): 0 select,
# 1 write, 2-3 read, 4 read the index port, 5 wide
def rtc_rd(idx):
    return bytes([0, idx, 2, 0])


def rtc_wr(idx, val):
    return bytes([0, idx, 1, val])


put("cmos_rtc", "read-time", bytes([31, 1]) + b"".join(rtc_rd(i) for i in
    (0, 2, 4, 6, 7, 8, 9, 0x32, 0x0a, 0x0b, 0x0c, 0x0d, 0x15, 0x17, 0x30, 0x34, 0x5b)))
put("cmos_rtc", "set-time", bytes([7, 0]) + rtc_wr(0x0b, 0x82) + rtc_wr(0x0a, 0x66) +
    rtc_wr(0, 0x59) + rtc_wr(2, 0x59) + rtc_wr(4, 0x23) + rtc_wr(7, 0x31) +
    rtc_wr(8, 0x12) + rtc_wr(9, 0x99) + rtc_wr(0x32, 0x99) + rtc_wr(0x0b, 0x02) +
    rtc_wr(0x0a, 0x26) + rtc_rd(0) + rtc_rd(9) + rtc_rd(0x32) + rtc_rd(0x0a))
put("cmos_rtc", "binary-12h", bytes([0, 0]) + rtc_wr(0x0b, 0x04) + rtc_rd(4) +
    rtc_wr(4, 0x8c) + rtc_rd(4) + rtc_wr(0x40, 0x5a) + rtc_rd(0x40) + bytes([0, 0xff, 4, 0]) +
    bytes([5, 0, 5, 1]))

# ---- i8042: ops (kind, value): 0-1 command, 2 data write, 3 status, 4 data read, 5 wide
def kcmd(c):
    return bytes([0, c])


def kdat(v):
    return bytes([2, v])


kst, kin = bytes([3, 0]), bytes([4, 0])
put("i8042", "linux-probe", kst + kcmd(0x20) + kst + kin + kcmd(0xaa) + kin + kcmd(0x60) +
    kdat(0x47) + kcmd(0x20) + kin + kcmd(0xa7) + kcmd(0xa8) + kcmd(0xa9) + kin + kcmd(0xab) +
    kin + kcmd(0xad) + kcmd(0xae) + kcmd(0xd0) + kin + kcmd(0xd2) + kdat(0x12) + kst + kin +
    kcmd(0xd3) + kdat(0x34) + kst + kin + kcmd(0xd4) + kdat(0xff) + kst)
put("i8042", "reset-pulse", kcmd(0xd1) + kdat(0x03) + kcmd(0xd0) + kin + kcmd(0xfe))
put("i8042", "outport-reset", kcmd(0xd1) + kdat(0x02) + kcmd(0xff) + bytes([5, 1]))

# ---- acpi_power: reset value, S5 SLP_TYP | ops (reg, size/dir, value)
put("acpi_power", "sleep-reset", bytes([0x0e, 5]) + bytes([0, 0, 0, 1, 0, 0, 0, 1, 0x20 | 1 << 2]) +
    bytes([1, 0, 0, 1, 1, 0x80, 1, 0, 0, 2, 1, 0x0f, 2, 0, 0, 2, 1, 0x0e]))
put("acpi_power", "poweroff", bytes([0x0e, 5]) + bytes([0, 1, 5 << 2, 0, 1, 0x20 | 5 << 2,
                                                         0, 3, 0x20 | 5 << 2]))

# ---- gdb_rsp: packets after framing, each a 2-byte length and the payload --
def pkts(*ps):
    return b"".join(struct.pack("<H", len(p)) + p for p in ps)


REGS_HEX = b"11" * 600  # x86_64's 'g' layout is 600 bytes; arm64's is shorter: E01 there
put("gdb_rsp", "attach", pkts(b"qSupported:multiprocess+;swbreak+;hwbreak+", b"QStartNoAckMode",
                              b"?", b"qfThreadInfo", b"qsThreadInfo", b"qC", b"qAttached",
                              b"qXfer:features:read:target.xml:0,ffb",
                              b"qXfer:features:read:target.xml:ffb,ffb",
                              b"qThreadExtraInfo,1", b"vCont?", b"qSymbol::", b"qOffsets"))
put("gdb_rsp", "regs", pkts(b"Hg1", b"g", b"p0", b"p10", b"P0=0102030405060708", b"G" + REGS_HEX,
                            b"Hg2", b"g", b"Hc2", b"T2", b"T3", b"Hgz"))
put("gdb_rsp", "memory", pkts(b"m0,10", b"M100,4:deadbeef", b"X200,3:a}\x5db", b"m100,8",
                              b"m1ff8,10", b"M1ffe,4:01020304", b"m2000,4", b"Mfffffffffffffffe,4:00",
                              b"X10,0:"))
put("gdb_rsp", "breakpoints", pkts(b"Z0,1000,1", b"Z0,1000,1", b"m1000,1", b"z0,1000,1",
                                   b"Z1,2000,1", b"Z2,3000,4", b"Z3,3008,8", b"Z4,4000,2",
                                   b"z2,3000,4", b"Z0,9000,1", b"Z5,0,0", b"Z0,1100,1", b"D"))
put("gdb_rsp", "run", pkts(b"vCont;s:1", b"?", b"vCont;c", b"vCont;t", b"s", b"c", b"C05",
                           b"S05", b"vCont;C05:2;c", b"vCont;x", b"vKill;1", b"k"))
put("gdb_rsp", "junk", pkts(b"", b"H", b"Hg", b"Z", b"Z0,", b"M1,2", b"M1,2:0", b"p", b"P=",
                            b"vCont;s:", b"qXfer:features:read:other.xml:0,10", b"\xff\x00q"))

# ---- api: a chunk size, then what a control-socket client sends -----------
put("api", "commands", bytes([7]) + b"help\nstats\npause\npause\nresume\nstats\nstop\n")
put("api", "blanks", bytes([1]) + b"  pause\t\r\n\nresume \r\n\t\n")
put("api", "bad", bytes([63]) + b"PAUSE\nstats x\nst\x01ts\nsta\0ts\n\xff\xfe\nbogus\n")
put("api", "too-long", bytes([63]) + b"x" * 600 + b"\nhelp\n")
# A fixed bug: a bare "H" made handle_packet read past the packet (parse_tid(pkt + 2)).
put("gdb_rsp", "h-without-op", b"&,H")
