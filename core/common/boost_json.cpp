// The one translation unit that compiles Boost.JSON (header-only mode), so that no other file pays
// for its implementation and no compiled Boost library is needed.
#include <boost/json/src.hpp>
