/*
 * Unit tests for daemon/xml.c: the domain XML corpus in tests/daemon/xml
 * (each file's first line says "expect: ok" or the error it must produce),
 * canonical round trips, libvirt's own RelaxNG schema via virt-xml-validate.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/xml.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif
#define CORPUS SRCDIR "/tests/daemon/xml"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* parse -> format -> parse -> format gives the same text. */
static char *canonical_twice(const char *xml)
{
	struct xml_domain *d, *d2;
	struct vx_err err;
	char *a, *b;

	if (xml_domain_parse(xml, strlen(xml), &d, &err) < 0)
		fail_msg("parse: %s", err.msg);
	assert_int_equal(xml_domain_format(d, &a, &err), 0);
	if (xml_domain_parse(a, strlen(a), &d2, &err) < 0)
		fail_msg("re-parse of our own output: %s\n%s", err.msg, a);
	assert_int_equal(xml_domain_format(d2, &b, &err), 0);
	assert_string_equal(a, b);
	xml_domain_free(d);
	xml_domain_free(d2);
	free(b);
	return a;
}

static int have_validator(void)
{
	return access("/usr/bin/virt-xml-validate", X_OK) == 0 &&
	       access("/usr/share/libvirt/schemas/domain.rng", R_OK) == 0;
}

static void validate_with_libvirt(const char *xml)
{
	char path[] = "/tmp/vmxd-xml-XXXXXX";
	char cmd[256];
	int fd = mkstemp(path);
	FILE *f;
	int rc;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(xml, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "virt-xml-validate %s domain >/dev/null 2>&1", path);
	rc = system(cmd);
	if (rc != 0) {
		snprintf(cmd, sizeof(cmd), "virt-xml-validate %s domain", path);
		rc = system(cmd);
		unlink(path);
		fail_msg("virt-xml-validate refused our output:\n%s", xml);
	}
	/* libvirt's own parser (its test driver) defines it too. */
	if (access("/usr/bin/virsh", X_OK) == 0) {
		snprintf(cmd, sizeof(cmd),
			 "virsh -q -c test:///default define %s >/dev/null 2>&1", path);
		if (system(cmd) != 0) {
			snprintf(cmd, sizeof(cmd), "virsh -q -c test:///default define %s", path);
			rc = system(cmd);
			unlink(path);
			fail_msg("libvirt's test driver refused our output:\n%s", xml);
		}
	}
	unlink(path);
}

static void xml_corpus_accepted_or_refused_precisely(void **state)
{
	DIR *dir = opendir(CORPUS);
	struct dirent *de;
	int files = 0, accepted = 0;

	(void)state;
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		char path[512], expect[256];
		struct xml_domain *d;
		struct vx_err err;
		char *xml, *p, *e;
		int rc;

		if (!strstr(de->d_name, ".xml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS, de->d_name);
		xml = slurp(path);
		p = strstr(xml, "expect: ");
		assert_non_null(p);
		p += strlen("expect: ");
		e = strstr(p, " -->");
		assert_non_null(e);
		snprintf(expect, sizeof(expect), "%.*s", (int)(e - p), p);
		vx_err_clear(&err);
		rc = xml_domain_parse(xml, strlen(xml), &d, &err);
		if (strcmp(expect, "ok") == 0) {
			if (rc < 0)
				fail_msg("%s: refused: %s", de->d_name, err.msg);
			xml_domain_free(d);
			p = canonical_twice(xml);
			if (have_validator())
				validate_with_libvirt(p);
			free(p);
			accepted++;
		} else {
			if (rc == 0)
				fail_msg("%s: accepted, expected \"%s\"", de->d_name, expect);
			if (!strstr(err.msg, expect))
				fail_msg("%s: error \"%s\" lacks \"%s\"", de->d_name,
					 err.msg, expect);
			assert_null(d);
		}
		free(xml);
		files++;
	}
	closedir(dir);
	assert_true(files >= 20);
	assert_true(accepted >= 2);
}

static void xml_dumpxml_validates_against_libvirt_schema(void **state)
{
	char *xml, *out;

	(void)state;
	if (!have_validator()) {
		skip();
		return;
	}
	xml = slurp(CORPUS "/ok-full.xml");
	out = canonical_twice(xml);
	validate_with_libvirt(out);
	/* The canonical form keeps what the user wrote. */
	assert_non_null(strstr(out, "<uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>"));
	assert_non_null(strstr(out, "<memory unit=\"KiB\">2097152</memory>"));
	assert_non_null(strstr(out, "<currentMemory unit=\"KiB\">1048576</currentMemory>"));
	assert_non_null(strstr(out, "xmlns:app1=\"http://app1.org/app1/\">fooish</app1:foo>"));
	assert_non_null(strstr(out, "<mac address=\"52:54:00:ab:cd:ef\"/>"));
	assert_non_null(strstr(out, "root=/dev/vda1 &amp; quiet"));
	assert_non_null(strstr(out, "<source file=\"/var/lib/vmxcore/images/debian-12.qcow2\"/>"));
	assert_non_null(strstr(out, "<title>Web server</title>"));
	assert_non_null(strstr(out, "<description>Front end.\nSecond line of the description.</description>"));
	assert_non_null(strstr(out, "<app2:bar xmlns:app2=\"http://app1.org/app2/\" attr=\"x\">"));
	assert_non_null(strstr(out, "<app2:baz/>"));
	assert_non_null(strstr(out, "<on_crash>destroy</on_crash>"));
	assert_non_null(strstr(out, "<clock offset=\"localtime\"/>"));
	free(out);
	free(xml);
}

static void xml_shipped_examples_are_accepted(void **state)
{
	static const char *const files[] = { "demo-test.xml", "demo-kvm.xml", "net-kvm.xml" };

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[300], *xml, *out;

		snprintf(path, sizeof(path), SRCDIR "/etc/examples/%s", files[i]);
		xml = slurp(path);
		out = canonical_twice(xml);
		if (have_validator())
			validate_with_libvirt(out);
		free(out);
		free(xml);
	}
}

static void xml_generated_uuid_and_mac_are_stable(void **state)
{
	const char *in = "<domain type='test'><name>g</name><memory>1024</memory>"
		"<devices><interface type='network'><source network='n'/></interface>"
		"</devices></domain>";
	struct xml_domain *d;
	struct vx_err err;
	char *a;

	(void)state;
	assert_int_equal(xml_domain_parse(in, strlen(in), &d, &err), 0);
	assert_int_equal(strlen(d->xdom_uuid), 36);
	assert_int_equal(strncmp(d->xdom_ifaces[0].xi_mac, "52:54:00:", 9), 0);
	assert_int_equal(xml_domain_format(d, &a, &err), 0);
	xml_domain_free(d);
	/* Once written out, the generated values are what re-defines. */
	free(canonical_twice(a));
	free(a);
}

static void xml_memory_units(void **state)
{
	static const struct { const char *v, *u; uint64_t kib; } ok[] = {
		{ "1024", NULL, 1024 }, { "1", "MiB", 1024 }, { "1", "M", 1024 },
		{ "1", "GiB", 1048576 }, { "1000", "KB", 977 }, { "1", "b", 1 },
		{ "1", "TiB", 1073741824ull }, { "2", "k", 2 }, { " 5 ", "KiB", 5 },
	};
	struct vx_err err;
	uint64_t k;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(xml_parse_memory(ok[i].v, ok[i].u, &k, &err), 0);
		assert_int_equal(k, ok[i].kib);
	}
	assert_int_equal(xml_parse_memory("1", "PiB", &k, &err), -EINVAL);
	assert_int_equal(xml_parse_memory("-1", NULL, &k, &err), -EINVAL);
	assert_int_equal(xml_parse_memory("12x", NULL, &k, &err), -EINVAL);
	assert_int_equal(xml_parse_memory("99999999999999999999", NULL, &k, &err), -EINVAL);
	assert_int_equal(xml_parse_memory("18446744073709551615", "TiB", &k, &err), -EINVAL);
}

static void xml_uuid_forms(void **state)
{
	char out[37];
	struct vx_err err;

	(void)state;
	assert_int_equal(xml_uuid_normalize("4DEA22B3-1D52-D8F3-2516-782E98AB3FA0", out, &err), 0);
	assert_string_equal(out, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
	assert_int_equal(xml_uuid_normalize("4dea22b31d52d8f32516782e98ab3fa0", out, &err), 0);
	assert_string_equal(out, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
	assert_int_equal(xml_uuid_normalize("4dea22b3", out, &err), -EINVAL);
	assert_int_equal(xml_uuid_normalize("4dea22b31d52d8f32516782e98ab3fa0ff", out, &err), -EINVAL);
	assert_int_equal(xml_uuid_normalize("zzea22b31d52d8f32516782e98ab3fa0", out, &err), -EINVAL);
	assert_int_equal(xml_uuid_normalize(NULL, out, &err), 0);
	assert_int_equal(out[14], '4');
}

static void xml_garbage_never_crashes(void **state)
{
	const char *base = slurp(CORPUS "/ok-full.xml");
	size_t len = strlen(base);
	char *buf = malloc(len + 1);

	(void)state;
	srand(7);
	for (int i = 0; i < 300; i++) {
		struct xml_domain *d;
		size_t cut = (size_t)rand() % len;

		memcpy(buf, base, len + 1);
		for (int j = 0; j < 4; j++)
			buf[(size_t)rand() % len] = (char)(rand() % 128);
		if (xml_domain_parse(buf, i % 2 ? len : cut, &d, NULL) == 0)
			xml_domain_free(d);
	}
	free(buf);
	free((char *)base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xml_corpus_accepted_or_refused_precisely),
		cmocka_unit_test(xml_dumpxml_validates_against_libvirt_schema),
		cmocka_unit_test(xml_shipped_examples_are_accepted),
		cmocka_unit_test(xml_generated_uuid_and_mac_are_stable),
		cmocka_unit_test(xml_memory_units),
		cmocka_unit_test(xml_uuid_forms),
		cmocka_unit_test(xml_garbage_never_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
