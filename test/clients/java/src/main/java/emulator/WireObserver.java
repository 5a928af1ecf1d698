// What the SDK puts on the wire, seen without touching its pipeline: azure-core finds its HTTP client
// through the HttpClientProvider service (META-INF/services; the test names this one with
// AZURE_HTTP_CLIENT_IMPLEMENTATION). It hands out the SDK's own Netty client, wrapped so that every
// exchange prints one line after the answer: "WIRE <method> <status> <api-version> <path>
// <x-aks-emulator-api-document> <x-aks-emulator-leniency>". Requests and answers pass unchanged.
package emulator;

import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpClientProvider;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.http.netty.NettyAsyncHttpClientProvider;
import com.azure.core.util.Context;
import com.azure.core.util.HttpClientOptions;
import java.net.URL;
import reactor.core.publisher.Mono;

public final class WireObserver implements HttpClientProvider {
    @Override
    public HttpClient createInstance() {
        return new Observed(new NettyAsyncHttpClientProvider().createInstance());
    }

    @Override
    public HttpClient createInstance(HttpClientOptions options) {
        return new Observed(new NettyAsyncHttpClientProvider().createInstance(options));
    }

    private static final class Observed implements HttpClient {
        private final HttpClient inner;

        Observed(HttpClient inner) {
            this.inner = inner;
        }

        @Override
        public Mono<HttpResponse> send(HttpRequest request) {
            return inner.send(request).doOnNext(response -> print(request, response));
        }

        @Override
        public Mono<HttpResponse> send(HttpRequest request, Context context) {
            return inner.send(request, context).doOnNext(response -> print(request, response));
        }

        @Override
        public HttpResponse sendSync(HttpRequest request, Context context) {
            HttpResponse response = inner.sendSync(request, context);
            print(request, response);
            return response;
        }
    }

    private static void print(HttpRequest request, HttpResponse response) {
        URL url = request.getUrl();
        String apiVersion = "-";
        if (url.getQuery() != null) {
            for (String pair : url.getQuery().split("&")) {
                if (pair.startsWith("api-version=")) apiVersion = pair.substring("api-version=".length());
            }
        }
        String document = response.getHeaderValue("x-aks-emulator-api-document");
        String leniency = response.getHeaderValue("x-aks-emulator-leniency");
        System.out.println("WIRE " + request.getHttpMethod() + " " + response.getStatusCode() + " " + apiVersion + " " + url.getPath()
            + " " + (document == null ? "-" : document) + " " + (leniency == null ? "-" : leniency));
    }
}
