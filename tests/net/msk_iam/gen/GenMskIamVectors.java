// Writes the AWS_MSK_IAM client payloads that AWS's own library (software.amazon.msk:aws-msk-iam-auth)
// produces for fixed credentials, host, user agent and signing time, as test vectors for
// net/sasl_msk_iam. Run by scripts/gen-msk-iam-vectors.sh.
//
// The library's AWS4SignedPayloadGenerator presigns with the wall clock (Instant.now() both as the
// signing time and for the 15-minute expiry). Its presignRequest() is public and overridable, so
// this subclass repeats its three-line request (GET https://HOST/?Action=kafka-cluster:Connect)
// and presigner parameters with a fixed signing clock; everything else (Aws4Signer's presigning,
// the query/header → JSON map, Jackson's serialisation) is the library's unchanged code.
import java.io.FileOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.signer.Aws4Signer;
import software.amazon.awssdk.auth.signer.params.Aws4PresignerParams;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.msk.auth.iam.internals.AWS4SignedPayloadGenerator;
import software.amazon.msk.auth.iam.internals.AuthenticationRequestParams;

public class GenMskIamVectors {
  static final class FixedTimeGenerator extends AWS4SignedPayloadGenerator {
    private final Instant now;
    FixedTimeGenerator(Instant now) { this.now = now; }

    @Override
    public SdkHttpFullRequest presignRequest(AuthenticationRequestParams params) {
      SdkHttpFullRequest request = SdkHttpFullRequest.builder()
          .method(SdkHttpMethod.GET)
          .protocol("https")
          .host(params.getHost())
          .appendRawQueryParameter("Action", "kafka-cluster:Connect")
          .build();
      Aws4PresignerParams signing = Aws4PresignerParams.builder()
          .awsCredentials(params.getAwsCredentials())
          .expirationTime(now.plusSeconds(15 * 60))
          .signingRegion(params.getRegion())
          .signingName(params.getServiceScope())
          .signingClockOverride(Clock.fixed(now, ZoneOffset.UTC))
          .build();
      return Aws4Signer.create().presign(request, signing);
    }
  }

  static Map<String, Object> vector(String name, String host, String accessKey, String secretKey,
                                    String sessionToken, String userAgent, String time) throws Exception {
    AwsCredentials creds = sessionToken == null
        ? AwsBasicCredentials.create(accessKey, secretKey)
        : AwsSessionCredentials.create(accessKey, secretKey, sessionToken);
    AuthenticationRequestParams params = AuthenticationRequestParams.create(host, creds, userAgent);
    Instant now = Instant.parse(time);
    byte[] payload = new FixedTimeGenerator(now).signedPayload(params);
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("name", name);
    v.put("host", host);
    v.put("region", params.getRegion().id());
    v.put("access_key_id", accessKey);
    v.put("secret_access_key", secretKey);
    v.put("session_token", sessionToken == null ? "" : sessionToken);
    v.put("user_agent", userAgent);
    v.put("time", time);
    v.put("epoch_seconds", now.getEpochSecond());
    v.put("payload", new String(payload, StandardCharsets.UTF_8));
    return v;
  }

  public static void main(String[] args) throws Exception {
    // AWS's documentation example keys (not real credentials).
    String ak = "AKIAIOSFODNN7EXAMPLE";
    String sk = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    String ua = "kafka-backup/test";
    List<Map<String, Object>> out = new ArrayList<>();
    out.add(vector("session_credentials", "b-1.mycluster.abc123.c2.kafka.us-east-1.amazonaws.com", ak, sk,
        "FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLETOKEN+/=", ua, "2020-10-22T12:34:56Z"));
    out.add(vector("long_term_credentials", "b-2.mycluster.abc123.c2.kafka.us-east-1.amazonaws.com", ak, sk,
        null, ua, "2026-12-07T02:30:00Z"));
    out.add(vector("eu_west_1_token_with_base64_characters", "b-3.prod.xyz789.c4.kafka.eu-west-1.amazonaws.com",
        "ASIAEXAMPLEKEYID0001", "secret+with/slashes=and+plus", "IQoJb3JpZ2luX2VjEXAMPLE==", ua,
        "2024-02-29T23:59:59Z"));
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    try (FileOutputStream f = new FileOutputStream(args[0])) {
      f.write(mapper.writeValueAsBytes(out));
      f.write('\n');
    }
  }
}
