# Node-local Kubernetes metadata (extcap/k8s_cgroup.c, k8s_runtime.c,
# k8s_meta.c): parsing and caches checked against fixtures/ and scratch
# directory trees standing in for /sys/fs/cgroup, the runtimes' state and
# the CNI cache. No root, no network, no Kubernetes.
#
#   test_k8s_cgroup   cgroup path layouts, mountinfo, /proc/PID/cgroup, the
#                     id -> path index (ids checked against stat())
#   test_k8s_runtime  containerd and CRI-O config.json, the CNI result cache,
#                     malformed and hostile files
#   test_k8s_meta     the capture's cache: process, IP and filter lookups,
#                     rechecks, pcapng comments
set(K8S_FIXTURES ${CMAKE_CURRENT_SOURCE_DIR}/fixtures)

tlsdump_unit_test(test_k8s_cgroup SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/test_k8s_cgroup.c
  ${PROJECT_SOURCE_DIR}/extcap/k8s_cgroup.c
  LIBRARIES PkgConfig::GLIB
  ARGS ${K8S_FIXTURES})

tlsdump_unit_test(test_k8s_runtime SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/test_k8s_runtime.c
  ${PROJECT_SOURCE_DIR}/extcap/k8s_runtime.c
  ${PROJECT_SOURCE_DIR}/extcap/k8s_cgroup.c
  LIBRARIES PkgConfig::GLIB PkgConfig::JSONGLIB
  ARGS ${K8S_FIXTURES})

tlsdump_unit_test(test_k8s_meta SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/test_k8s_meta.c
  ${PROJECT_SOURCE_DIR}/extcap/k8s_meta.c
  ${PROJECT_SOURCE_DIR}/extcap/k8s_runtime.c
  ${PROJECT_SOURCE_DIR}/extcap/k8s_cgroup.c
  ${PROJECT_SOURCE_DIR}/extcap/log.c
  LIBRARIES PkgConfig::GLIB PkgConfig::JSONGLIB
  ARGS ${K8S_FIXTURES})
