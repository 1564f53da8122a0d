/* SPDX-License-Identifier: MIT */
/* Hypervisor-free logic of both transports: argument checks, paths, Xen ring
 * size rounding, transport choice. */
#include <sys/un.h>
#include <unistd.h>

#include "vchan-private.h"
#include "vchan-test.h"

static void test_transport_choose(void)
{
	CHECK_EQ(vchan_transport_choose(NULL, false, false), VCHAN_TRANSPORT_SOCKET);
	CHECK_EQ(vchan_transport_choose("", true, false), VCHAN_TRANSPORT_SOCKET);
	CHECK_EQ(vchan_transport_choose(NULL, true, true), VCHAN_TRANSPORT_XEN);
	CHECK_EQ(vchan_transport_choose(NULL, false, true), VCHAN_TRANSPORT_SOCKET);
	CHECK_EQ(vchan_transport_choose("socket", true, true), VCHAN_TRANSPORT_SOCKET);
	CHECK_EQ(vchan_transport_choose("xen", true, false), VCHAN_TRANSPORT_XEN);
	CHECK_EQ(vchan_transport_choose("xen", false, true), -ENOTSUP);
	CHECK_EQ(vchan_transport_choose("Xen", true, true), -EINVAL);
	CHECK_EQ(vchan_transport_choose("socketx", true, true), -EINVAL);
}

static void test_args(void)
{
	CHECK_EQ(vchan_check_args(0, 0), 0);
	CHECK_EQ(vchan_check_args(0x7FEF, 0x7FFFFFFF), 0);
	CHECK_EQ(vchan_check_args(-1, 1), -EINVAL);
	CHECK_EQ(vchan_check_args(0x7FF0, 1), -EINVAL);
	CHECK_EQ(vchan_check_args(1, -1), -EINVAL);

	CHECK_EQ(vchan_parse_domain(NULL), 0);
	CHECK_EQ(vchan_parse_domain("0"), 0);
	CHECK_EQ(vchan_parse_domain("42"), 42);
	CHECK_EQ(vchan_parse_domain("32751"), 32751);
	CHECK_EQ(vchan_parse_domain("32752"), -EINVAL);
	CHECK_EQ(vchan_parse_domain(""), -EINVAL);
	CHECK_EQ(vchan_parse_domain("-1"), -EINVAL);
	CHECK_EQ(vchan_parse_domain("+1"), -EINVAL);
	CHECK_EQ(vchan_parse_domain(" 1"), -EINVAL);
	CHECK_EQ(vchan_parse_domain("1x"), -EINVAL);
	CHECK_EQ(vchan_parse_domain("99999999999999999999"), -EINVAL);
}

static void test_socket_path(void)
{
	char b[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n = vchan_socket_path(b, sizeof(b), "/var/run/vchan", 0, 5, 4713);
	CHECK_EQ(n, (int)strlen("/var/run/vchan/vchan.0.5.4713.sock"));
	CHECK(strcmp(b, "/var/run/vchan/vchan.0.5.4713.sock") == 0);
	CHECK_EQ(vchan_socket_path(b, sizeof(b), "d", 7, 3, 0), 18);
	CHECK(strcmp(b, "d/vchan.7.3.0.sock") == 0);
	CHECK_EQ(vchan_socket_path(b, sizeof(b), "d", -1, 3, 0), -EINVAL);
	CHECK_EQ(vchan_socket_path(b, sizeof(b), "d", 1, -3, 0), -EINVAL);
	CHECK_EQ(vchan_socket_path(b, sizeof(b), "d", 1, 3, -1), -EINVAL);
	CHECK_EQ(vchan_socket_path(b, sizeof(b), "", 1, 3, 1), -EINVAL);
	CHECK_EQ(vchan_socket_path(b, sizeof(b), NULL, 1, 3, 1), -EINVAL);
	/* sun_path is 108 bytes: a longer path would silently name another socket */
	char dir[120];
	memset(dir, 'x', sizeof(dir) - 1);
	dir[sizeof(dir) - 1] = 0;
	CHECK_EQ(vchan_socket_path(b, sizeof(b), dir, 1, 2, 3), -ENAMETOOLONG);
	char big[300];
	CHECK_EQ(vchan_socket_path(big, sizeof(big), dir, 1, 2, 3), -ENAMETOOLONG);
	dir[107 - (int)strlen("/vchan.1.2.3.sock")] = 0; /* exactly 107 chars + NUL */
	CHECK_EQ(vchan_socket_path(b, sizeof(b), dir, 1, 2, 3), 107);
	CHECK_EQ(vchan_socket_path(b, 10, "/tmp", 1, 2, 3), -ENAMETOOLONG);
}

static void test_xen_ring_size(void)
{
	CHECK_EQ(vchan_xen_ring_size(0), 1024);
	CHECK_EQ(vchan_xen_ring_size(1), 1024);
	CHECK_EQ(vchan_xen_ring_size(1024), 1024);
	CHECK_EQ(vchan_xen_ring_size(1025), 2048);
	CHECK_EQ(vchan_xen_ring_size(4096), 4096);
	CHECK_EQ(vchan_xen_ring_size(4097), 8192);
	CHECK_EQ(vchan_xen_ring_size(128 * 1024 - 1), 128 * 1024);
	CHECK_EQ(vchan_xen_ring_size(1 << 20), 1 << 20);
	CHECK_EQ(vchan_xen_ring_size((1 << 20) + 1), 0);
	CHECK_EQ(vchan_xen_ring_size((size_t)-1), 0);
	for (size_t s = 1; s <= (1 << 20); s = s * 3 + 1) {
		size_t r = vchan_xen_ring_size(s);
		CHECK(r >= s && r >= 1024 && r <= (1 << 20));
		CHECK_EQ(r & (r - 1), 0);
		CHECK(r == 1024 || r / 2 < s);
	}
}

static void test_xen_paths(void)
{
	char b[256];
	CHECK_EQ(vchan_xen_server_path(b, sizeof(b), 5, 4713), 17);
	CHECK(strcmp(b, "data/vchan/5/4713") == 0 || !printf("%s\n", b));
	CHECK_EQ(vchan_xen_client_path(b, sizeof(b), 0, 5, 4714), (int)strlen("/local/domain/0/data/vchan/5/4714"));
	CHECK(strcmp(b, "/local/domain/0/data/vchan/5/4714") == 0);
	CHECK_EQ(vchan_xen_client_path(b, sizeof(b), 3, 3, 1), -EINVAL); /* loopback */
	CHECK_EQ(vchan_xen_client_path(b, sizeof(b), -1, 3, 1), -EINVAL);
	CHECK_EQ(vchan_xen_client_path(b, sizeof(b), 1, -3, 1), -EINVAL);
	CHECK_EQ(vchan_xen_client_path(b, sizeof(b), 1, 3, -1), -EINVAL);
	CHECK_EQ(vchan_xen_server_path(b, sizeof(b), -2, 1), -EINVAL);
	CHECK_EQ(vchan_xen_server_path(b, sizeof(b), 2, -1), -EINVAL);
	CHECK_EQ(vchan_xen_server_path(b, 8, 2, 1), -ENAMETOOLONG);
	CHECK_EQ(vchan_xen_client_path(b, 8, 2, 1, 1), -ENAMETOOLONG);
}

/* Through the public API: bad arguments fail before touching anything. */
static void test_public_args(void)
{
	vt_tmpdir();
	CHECK(setenv("VSND_VCHAN", "socket", 1) == 0);
	errno = 0;
	CHECK(!libvchan_server_init(-1, 1, 1024, 1024));
	CHECK_EQ(errno, EINVAL);
	CHECK(!libvchan_server_init(1, -1, 1024, 1024));
	CHECK_EQ(errno, EINVAL);
	CHECK(!libvchan_server_init(1, 1, (size_t)2 << 30, 1024));
	CHECK_EQ(errno, EINVAL);
	int fd;
	CHECK(!libvchan_client_init_async(-5, 1, &fd));
	CHECK_EQ(errno, EINVAL);
	CHECK(setenv("VCHAN_DOMAIN", "dom0", 1) == 0);
	CHECK(!libvchan_server_init(1, 1, 1024, 1024));
	CHECK_EQ(errno, EINVAL);
	CHECK(unsetenv("VCHAN_DOMAIN") == 0);
	CHECK(setenv("VSND_VCHAN", "bogus", 1) == 0);
	CHECK(!libvchan_server_init(1, 1, 1024, 1024));
	CHECK_EQ(errno, EINVAL);
#ifndef VSND_VCHAN_HAVE_XEN
	CHECK(setenv("VSND_VCHAN", "xen", 1) == 0);
	CHECK(!libvchan_server_init(1, 1, 1024, 1024));
	CHECK_EQ(errno, ENOTSUP);
#endif
	CHECK(setenv("VSND_VCHAN", "socket", 1) == 0);
	/* NULL is tolerated everywhere */
	libvchan_close(NULL);
	CHECK_EQ(libvchan_is_open(NULL), VCHAN_DISCONNECTED);
	CHECK_EQ(libvchan_data_ready(NULL), 0);
	CHECK_EQ(libvchan_buffer_space(NULL), 0);
	CHECK_ERR(libvchan_write(NULL, "x", 1), EINVAL);
	CHECK_ERR(libvchan_client_init_async_finish(NULL, true), EINVAL);
}

/* The Xen transport without a hypervisor: clean failure, no crash, no hang. */
static void test_xen_absent(void)
{
#ifdef VSND_VCHAN_HAVE_XEN
	if (access("/dev/xen/evtchn", F_OK) == 0) {
		printf("xen present: skipping the no-hypervisor checks\n");
		return;
	}
	CHECK(setenv("VSND_VCHAN", "xen", 1) == 0);
	/* argument checks and ring rounding come first */
	errno = 0;
	CHECK(!libvchan_server_init(-1, 1, 1024, 1024));
	CHECK_EQ(errno, EINVAL);
	CHECK(!libvchan_server_init(1, 1, (1 << 20) + 1, 1024));
	CHECK_EQ(errno, EINVAL);
	int fd = -1;
	CHECK(!libvchan_client_init_async(1, -1, &fd));
	CHECK_EQ(errno, EINVAL);
	/* then the hypervisor is missing */
	errno = 0;
	CHECK(!libvchan_server_init(1, 4713, 4096, 4096));
	CHECK(errno != 0);
	errno = 0;
	CHECK(!libvchan_client_init_async(1, 4713, &fd));
	CHECK(errno != 0);
	CHECK(!libvchan_client_init(1, 4713));
	CHECK(setenv("VSND_VCHAN", "socket", 1) == 0);
#endif
}

int main(void)
{
	test_transport_choose();
	test_args();
	test_socket_path();
	test_xen_ring_size();
	test_xen_paths();
	test_public_args();
	test_xen_absent();
	printf("ok\n");
	return 0;
}
