# The API server client (extcap/k8s_api.c) against tests/lib/fake_apiserver.py,
# an HTTPS server on 127.0.0.1 with a CA of its own. Needs /usr/bin/python3 and
# the openssl command (skipped without them); no root, no network.
tlsdump_unit_test(test_k8s_api SOURCES
  test_k8s_api.c
  ${PROJECT_SOURCE_DIR}/extcap/k8s_api.c
  ${PROJECT_SOURCE_DIR}/extcap/log.c
  LIBRARIES PkgConfig::GLIB PkgConfig::JSONGLIB PkgConfig::LIBCURL)
target_compile_definitions(test_k8s_api PRIVATE
  FAKE_APISERVER="${PROJECT_SOURCE_DIR}/tests/lib/fake_apiserver.py")
