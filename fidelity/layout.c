/*
 * layout.c — prints the facts of Xen's own public headers that blkif-model restates:
 * the shared-ring header (DEFINE_RING_TYPES(blkif, ...) as blkif.h expands it), the
 * blkif request/response structs, __CONST_RING_SIZE for ring-page-order 0..4, the op and
 * status constants, the XenbusState values, and the bytes of sample requests/responses.
 *
 * Built twice by impl/xen/xen-headers.test.ts: natively (x86_64-abi) and with -m32
 * (x86_32-abi), so the 32-bit layout comes from the compiler, not from our reading of it.
 * Output: one "key value" pair per line; the test parses it and compares with the model.
 */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define xen_mb() __sync_synchronize()
#define xen_rmb() __sync_synchronize()
#define xen_wmb() __sync_synchronize()

#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xen/io/ring.h>
#include <xen/io/xenbus.h>

#define SIZE(name, type) printf("sizeof.%s %zu\n", name, sizeof(type))
#define OFF(name, type, field) printf("offsetof.%s.%s %zu\n", name, #field, offsetof(type, field))
#define CONST(name) printf("const.%s %lld\n", #name, (long long)(name))

static void dump(const char *name, const void *p, size_t n) {
    const unsigned char *b = p;
    printf("bytes.%s ", name);
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}

static void print_ring_header(void) {
    OFF("sring", struct blkif_sring, req_prod);
    OFF("sring", struct blkif_sring, req_event);
    OFF("sring", struct blkif_sring, rsp_prod);
    OFF("sring", struct blkif_sring, rsp_event);
    OFF("sring", struct blkif_sring, pvt);
    OFF("sring", struct blkif_sring, __pad);
    OFF("sring", struct blkif_sring, ring);
    SIZE("sring_entry", union blkif_sring_entry);
    SIZE("RING_IDX", RING_IDX);
    for (int order = 0; order <= 4; order++)
        printf("ring_size.order%d %lu\n", order,
               (unsigned long)__CONST_RING_SIZE(blkif, 4096UL << order));
}

static void print_structs(void) {
    SIZE("segment", struct blkif_request_segment);
    OFF("segment", struct blkif_request_segment, gref);
    OFF("segment", struct blkif_request_segment, first_sect);
    OFF("segment", struct blkif_request_segment, last_sect);
    SIZE("request", struct blkif_request);
    OFF("request", struct blkif_request, operation);
    OFF("request", struct blkif_request, nr_segments);
    OFF("request", struct blkif_request, handle);
    OFF("request", struct blkif_request, id);
    OFF("request", struct blkif_request, sector_number);
    OFF("request", struct blkif_request, seg);
    SIZE("discard", struct blkif_request_discard);
    OFF("discard", struct blkif_request_discard, flag);
    OFF("discard", struct blkif_request_discard, handle);
    OFF("discard", struct blkif_request_discard, id);
    OFF("discard", struct blkif_request_discard, sector_number);
    OFF("discard", struct blkif_request_discard, nr_sectors);
    SIZE("indirect", struct blkif_request_indirect);
    OFF("indirect", struct blkif_request_indirect, indirect_op);
    OFF("indirect", struct blkif_request_indirect, nr_segments);
    OFF("indirect", struct blkif_request_indirect, id);
    OFF("indirect", struct blkif_request_indirect, sector_number);
    OFF("indirect", struct blkif_request_indirect, handle);
    OFF("indirect", struct blkif_request_indirect, indirect_grefs);
    SIZE("response", struct blkif_response);
    OFF("response", struct blkif_response, id);
    OFF("response", struct blkif_response, operation);
    OFF("response", struct blkif_response, status);
}

static void print_constants(void) {
    CONST(BLKIF_OP_READ);
    CONST(BLKIF_OP_WRITE);
    CONST(BLKIF_OP_WRITE_BARRIER);
    CONST(BLKIF_OP_FLUSH_DISKCACHE);
    CONST(BLKIF_OP_RESERVED_1);
    CONST(BLKIF_OP_DISCARD);
    CONST(BLKIF_OP_INDIRECT);
    CONST(BLKIF_RSP_OKAY);
    CONST(BLKIF_RSP_ERROR);
    CONST(BLKIF_RSP_EOPNOTSUPP);
    CONST(BLKIF_MAX_SEGMENTS_PER_REQUEST);
    CONST(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
    CONST(BLKIF_DISCARD_SECURE);
    CONST(XenbusStateUnknown);
    CONST(XenbusStateInitialising);
    CONST(XenbusStateInitWait);
    CONST(XenbusStateInitialised);
    CONST(XenbusStateConnected);
    CONST(XenbusStateClosing);
    CONST(XenbusStateClosed);
    CONST(XenbusStateReconfiguring);
    CONST(XenbusStateReconfigured);
    printf("protocol.native %s\n", XEN_IO_PROTO_ABI_NATIVE);
}

/* Sample values mirrored in xen-headers.test.ts; ids and sectors use both 32-bit halves. */
static void print_samples(void) {
    struct blkif_request rw;
    memset(&rw, 0, sizeof(rw));
    rw.operation = BLKIF_OP_WRITE;
    rw.nr_segments = 3;
    rw.handle = 0xCA01;
    rw.id = 0x0012345678ABCDEFULL;
    rw.sector_number = 0x0001020304050607ULL;
    for (int i = 0; i < 3; i++) {
        rw.seg[i].gref = 0x1000u + (unsigned)i;
        rw.seg[i].first_sect = (uint8_t)i;
        rw.seg[i].last_sect = (uint8_t)(7 - i);
    }
    dump("rw", &rw, sizeof(rw));

    struct blkif_request_discard d;
    memset(&d, 0, sizeof(d));
    d.operation = BLKIF_OP_DISCARD;
    d.flag = BLKIF_DISCARD_SECURE;
    d.handle = 0x0203;
    d.id = 0x000FEDCBA9876543ULL;
    d.sector_number = 0x0000123400005678ULL;
    d.nr_sectors = 0x0000000100000002ULL;
    dump("discard", &d, sizeof(d));

    struct blkif_request_indirect ind;
    memset(&ind, 0, sizeof(ind));
    ind.operation = BLKIF_OP_INDIRECT;
    ind.indirect_op = BLKIF_OP_READ;
    ind.nr_segments = 1025;
    ind.id = 42;
    ind.sector_number = 0x00000002FFFFFFFFULL;
    ind.handle = 0x0051;
    for (int i = 0; i < 3; i++) ind.indirect_grefs[i] = 0xABC0u + (unsigned)i;
    dump("indirect", &ind, sizeof(ind));

    struct blkif_response r;
    memset(&r, 0, sizeof(r));
    r.id = 0x001FFFFFFFFFFFFFULL;
    r.operation = BLKIF_OP_FLUSH_DISKCACHE;
    r.status = BLKIF_RSP_EOPNOTSUPP;
    dump("response", &r, sizeof(r));
}

int main(void) {
    print_ring_header();
    print_structs();
    print_constants();
    print_samples();
    return 0;
}
