// The one translation unit that compiles Boost.Asio (BOOST_ASIO_SEPARATE_COMPILATION): every other
// file includes only Asio's declarations, which keeps a clean build short on two cores.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
