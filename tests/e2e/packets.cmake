# End-to-end tests of the original encrypted packets (--packets,
# --packet-interfaces, -f, --tls-keylog, -p/-c with packets, packet ISBs):
# tests/e2e/test_packets_*.py, helpers in test_packets_lib.py (not a test).
#
# Included from tests/e2e/CMakeLists.txt (anywhere in it):
#   include(${CMAKE_CURRENT_SOURCE_DIR}/packets.cmake)
#
# The scripts follow the e2e conventions (README.md): /usr/bin/python3
# SCRIPT --binary <tlsdump> --lib tests/lib, exit 77 (skipped) unless root,
# label e2e, RESOURCE_LOCK tlsdump_probes, SKIP_RETURN_CODE 77. Because one
# script holds several independent scenarios, each test method is its own
# ctest (one failure does not hide the others; each takes 2-25 s on an
# idle machine):
#   test_packets_<script>.<method>     e.g. test_packets_keylog.test_tls12
# labels e2e and packets:  ctest -R test_packets   or   ctest -L packets
#
# CMakeLists.txt leaves test_packets_*.py to this file.
#
# With the tlsdump dissector built, tshark also checks that the plaintext
# frames get the tcp.stream of their connection's packets (the plugin is
# loaded from a temporary HOME by tshark run as nobody).

set(_tlsdump_packets_dir ${CMAKE_CURRENT_LIST_DIR})
file(GLOB _tlsdump_packets_scripts CONFIGURE_DEPENDS RELATIVE ${_tlsdump_packets_dir}
     ${_tlsdump_packets_dir}/test_packets_*.py)
list(REMOVE_ITEM _tlsdump_packets_scripts test_packets_lib.py)
list(SORT _tlsdump_packets_scripts)

set(_tlsdump_packets_env "PYTHONDONTWRITEBYTECODE=1")
if(TARGET tlsdump_dissector AND TLSDUMP_WIRESHARK_ABI)
  list(APPEND _tlsdump_packets_env
       "TLSDUMP_PACKETS_PLUGIN=$<TARGET_FILE:tlsdump_dissector>"
       "TLSDUMP_PACKETS_PLUGIN_ABI=${TLSDUMP_WIRESHARK_ABI}")
endif()

foreach(_script ${_tlsdump_packets_scripts})
  set(_path ${_tlsdump_packets_dir}/${_script})
  string(REGEX REPLACE "\\.py$" "" _stem ${_script})
  file(STRINGS ${_path} _class_lines REGEX "^class [A-Za-z0-9_]+\\(")
  file(STRINGS ${_path} _method_lines REGEX "^    def test_[A-Za-z0-9_]+\\(self")
  list(LENGTH _class_lines _n_classes)
  if(NOT _n_classes EQUAL 1)
    message(FATAL_ERROR "${_script}: expected one test class, found ${_n_classes}")
  endif()
  string(REGEX REPLACE "^class ([A-Za-z0-9_]+)\\(.*" "\\1" _class "${_class_lines}")
  foreach(_line ${_method_lines})
    string(REGEX REPLACE "^    def (test_[A-Za-z0-9_]+)\\(.*" "\\1" _method "${_line}")
    set(_name ${_stem}.${_method})
    add_test(NAME ${_name}
             COMMAND /usr/bin/python3 ${_path}
                     --binary $<TARGET_FILE:tlsdump>
                     --lib ${PROJECT_SOURCE_DIR}/tests/lib
                     ${_class}.${_method})
    set_tests_properties(${_name} PROPERTIES
      LABELS "e2e;packets"
      RESOURCE_LOCK tlsdump_probes
      SKIP_RETURN_CODE 77
      TIMEOUT 180
      ENVIRONMENT "${_tlsdump_packets_env}")
  endforeach()
endforeach()
